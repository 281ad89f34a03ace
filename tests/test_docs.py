"""The documentation's generated pages cover the code, and CI builds the site after the tests."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generate():
    spec = importlib.util.spec_from_file_location(
        "generate", ROOT / "docs" / "_ext" / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_has_every_command_and_flag():
    from slimsoap.cli.main import build_parser

    text = _generate().cli_reference()
    parser = build_parser()
    commands = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    for name, sub in commands[0].choices.items():
        assert f"``slimsoap {name}``" in text, name
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in text, (name, flag)


def test_compression_table_lists_every_registered_compression():
    from slimsoap.acsf import compressions as acsf_compressions
    from slimsoap.soap import compressions

    text = _generate().compression_table()
    for name in compressions.names() + acsf_compressions.names():
        assert f"* - ``{name}``" in text, name


def test_ci_builds_the_docs_with_warnings_as_errors_after_the_tests():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    tests = next(i for i, line in enumerate(lines) if "python -m pytest -q" in line)
    docs = next(i for i, line in enumerate(lines) if "sphinx-build" in line)
    assert docs > tests
    assert " -W " in lines[docs] and 'pip install -e ".[docs]"' in lines[docs]


def test_every_gallery_example_is_a_script_with_a_title():
    examples = sorted((ROOT / "examples" / "gallery").glob("plot_*.py"))
    assert len(examples) >= 10
    for path in examples:
        doc = path.read_text().split('"""')[1].strip().splitlines()
        assert len(doc) > 2 and set(doc[1]) == {"="} and len(doc[1]) == len(doc[0]), path.name


def test_api_page_documents_every_top_level_name():
    import slimsoap

    text = (ROOT / "docs" / "api" / "slimsoap.rst").read_text()
    missing = [n for n in slimsoap.__all__ if f":: slimsoap.{n}\n" not in text]
    assert not missing, f"add to docs/api/slimsoap.rst: {missing}"
