"""Training: recipes (configs/*.yaml), a Lightning wrapper of the plain model, `fit(config)`.

Names are imported on first use, so the CLI builds its options and prints its help without
loading PyTorch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scancci._lazy import lazy_exports

if TYPE_CHECKING:  # the public names, as type checkers see them; imported on first use
    from scancci.train.config import TrainConfig as TrainConfig
    from scancci.train.final import RunResult as RunResult
    from scancci.train.fitting import fit as fit
    from scancci.train.fitting import fit_seeds as fit_seeds
    from scancci.train.recipes import list_recipes as list_recipes
    from scancci.train.recipes import load_recipe as load_recipe

__getattr__, __dir__, __all__ = lazy_exports(globals())
