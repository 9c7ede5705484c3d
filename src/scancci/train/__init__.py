"""Training: recipes (configs/*.yaml), a Lightning wrapper of the plain model, `fit(config)`."""

from scancci.train.config import TrainConfig
from scancci.train.final import RunResult
from scancci.train.fit import fit
from scancci.train.recipes import list_recipes, load_recipe

__all__ = ["RunResult", "TrainConfig", "fit", "list_recipes", "load_recipe"]
