"""Docs stay honest: the README's data contract is the registry's, and its commands exist."""

import re
from pathlib import Path

from aims_metrics.cli import build_parser
from aims_metrics.tables.registry import docs_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_data_contract_matches_the_registry():
    text = README.read_text(encoding="utf-8")
    section = re.search(r"<!-- registry:start -->\n(.*?)\n<!-- registry:end -->", text, re.S)
    assert section is not None, "README lost its registry markers"
    assert section.group(1) == docs_markdown()


def test_every_cli_command_in_the_readme_is_registered():
    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"python -m aims_metrics (?:\[--db PATH\] )?([a-z-]+)", text))
    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert documented, "README documents no commands"
    assert documented <= set(subcommands), documented - set(subcommands)


def test_every_command_is_owned_by_the_module_that_registers_it():
    import argparse
    import importlib

    from aims_metrics.cli import COMMAND_MODULES, COMMAND_OWNERS

    registered = {}
    for module_name in COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        importlib.import_module(module_name).register(parser.add_subparsers(dest="command"))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                registered.update(dict.fromkeys(action.choices, module_name))
    assert registered == COMMAND_OWNERS


def _project_map() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Project map") :]
    section = section[: section.index("\n## ", 4)] if "\n## " in section[4:] else section
    rows = re.findall(r"^\| `([^`]+)`[^|]*\| (.+) \|$", section, re.M)
    return dict(rows)


def test_the_project_map_names_every_package_folder_and_only_real_paths():
    root = README.parent
    mapped = _project_map()
    folders = {
        f"aims_metrics/{p.parent.name}/" for p in (root / "aims_metrics").glob("*/__init__.py")
    }
    assert folders <= set(mapped), sorted(folders - set(mapped))
    for path in mapped:
        assert (root / path).exists(), path
    for path, text in mapped.items():  # the files a row names exist in its folder
        for name in re.findall(r"`([a-z_]+\.(?:py|yaml|csv))`", text):
            assert list((root / path).glob(name)), f"{path}{name}"
