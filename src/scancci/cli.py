"""The `scancci` command: a thin layer over the Python API, one module per sub-command.

Sub-commands live in `scancci/commands/<name>.py`, each with `add_arguments(parser)` and
`run(args) -> int | None`. Only the chosen one is imported, so `scancci --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from scancci.errors import ScanCCIError, one_line, unknown_name
from scancci.version import __version__

# name -> one-line help. Declared once, as data: reused by --help and by the service's /info.
COMMANDS: dict[str, str] = {
    "models": "list the model architectures and show a saved model's config",
    "convert": "convert an original SCAN-CCI checkpoint to a scancci model (safetensors + JSON)",
    "data": "summarise, check or generate datasets (summary | check | generate)",
    "predict": "expressions of every face in images, folders, videos or a webcam",
    "mask": "draw a synthetic surgical mask onto faces in images or a whole dataset",
    "prepare": "detect and align the faces of a raw dataset, keeping its layout",
    "train": "train a model from a recipe (configs/) or a config file",
    "evaluate": "accuracy, balanced accuracy, macro-F1, confusion matrix, robustness subsets",
    "calibrate": "fit the temperature of a model on a validation split and store it",
    "reproduce": "run a paper recipe end to end and write a report next to the paper's numbers",
    "report": "collect several runs into one table (mean +- std)",
    "demo": "generate the synthetic demo set, train, evaluate and write a report",
    "export": "export a model to ONNX or TorchScript, verified against PyTorch",
    "serve": "serve a model over HTTP with a web page",
    "doctor": "what is installed, what is missing, and the command that adds it",
}


class OneLineErrors(argparse.ArgumentParser):
    """argparse whose mistakes are one line (`scancci CMD: error: ...`, exit 2) that says where
    the options are listed, instead of the whole usage block first."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` lists the options)\n")


def _top_parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<10} {text}" for name, text in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="scancci",
        description="Facial expression recognition with SCAN-CCI.",
        epilog=f"commands:\n{lines}\n\nRun `scancci COMMAND --help` for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="scancci [-h] [--version] COMMAND ...",
    )
    parser.add_argument("--version", action="version", version=f"scancci {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `scancci` console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        _top_parser().parse_args(argv or ["--help"])
        return 0
    name, rest = argv[0], argv[1:]
    try:
        if name not in COMMANDS:
            raise unknown_name("command", name, COMMANDS)
        module = importlib.import_module(f"scancci.commands.{name}")
        parser = OneLineErrors(prog=f"scancci {name}", description=COMMANDS[name])
        module.add_arguments(parser)
        try:
            args = parser.parse_args(rest)
        except SystemExit as done:  # --help, or an argument error argparse already printed
            return int(done.code or 0)
        code = module.run(args)
        return int(code or 0)
    except ScanCCIError as err:
        print(f"scancci {name}: error: {one_line(str(err))}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.filename is None:  # not about a path the user gave: a fault, with its traceback
            raise
        print(f"scancci {name}: error: {path_problem(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"scancci {name}: interrupted", file=sys.stderr)
        return 130


def path_problem(err: OSError) -> str:
    """One line for a path that cannot be written or read (an --output or --annotate in a
    place that is a file, a read-only or missing place), naming the path."""
    if isinstance(err, (FileExistsError, NotADirectoryError)):
        return f"{err.filename}: a file is there, where a folder is needed (check --output and " \
               "--annotate)"
    return f"{err.filename}: {err.strerror or err}"


if __name__ == "__main__":
    sys.exit(main())
