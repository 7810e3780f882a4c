"""Random numbers: one project-wide generator, so `manual_seed` makes runs reproducible."""
import numpy as np


class Generator:
    """A seeded random generator (wraps numpy's PCG64), as `torch.Generator`.

    `rng` is the underlying `numpy.random.Generator`, for data-preparation code.
    """

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        """Reseed; returns self."""
        seed = int(seed)
        if seed < 0:
            seed = seed % (2 ** 64)
        self._seed = seed
        self.rng = np.random.default_rng(seed)
        return self

    def seed(self):
        """Reseed from fresh entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))
        return self._seed

    def initial_seed(self):
        """The seed last set."""
        return self._seed

    def get_state(self):
        """The generator state (a dict that set_state accepts)."""
        return self.rng.bit_generator.state

    def set_state(self, state):
        """Restore a state from get_state()."""
        self.rng.bit_generator.state = state
        return self


default_generator = Generator()


def manual_seed(seed):
    """Seed the project-wide generator (factories, init, dropout, shuffling); returns it."""
    return default_generator.manual_seed(seed)


def seed():
    """Seed the project-wide generator from fresh entropy; returns the seed."""
    return default_generator.seed()


def initial_seed():
    """The seed of the project-wide generator."""
    return default_generator.initial_seed()


def get_rng_state():
    """State of the project-wide generator."""
    return default_generator.get_state()


def set_rng_state(state):
    """Restore the project-wide generator's state."""
    default_generator.set_state(state)


def _rng(generator=None):
    """The numpy Generator to draw from: the given one or the project-wide one."""
    return (generator or default_generator).rng
