"""The configuration file: validated, and every setting documented in the template."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from node import config
from node.i18n import SHIPPED_LANGUAGES


def test_template_is_valid() -> None:
    cfg = config.parse(tomllib.loads(config.template_text()))
    # the template offers every language BackUp ships a catalogue for
    assert sorted(cfg.languages) == sorted(SHIPPED_LANGUAGES)


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        out.append(prefix + name)
        ann = info.annotation
        inner = getattr(ann, "__args__", (ann,))
        for t in inner:
            if isinstance(t, type) and issubclass(t, BaseModel):
                out.extend(_fields(t, prefix))
    return out


def test_every_setting_is_documented_in_the_template() -> None:
    text = config.template_text()
    missing = [f for f in _fields(config.NodeConfig) if f not in text]
    assert not missing, f"settings missing from node/node.toml.example: {missing}"


@pytest.mark.parametrize(("raw", "field"), [
    ({"languages": ["en", "xx"]}, "languages.1"),
    ({"limits": {"max_file_mb": 0}}, "limits.max_file_mb"),
    ({"quick_exit_url": "not a url"}, "quick_exit_url"),
    ({"default_language": "fr", "languages": ["en"]}, "default_language"),
    ({"regions": [{"code": "bad code!", "name": "x"}]}, "regions.0.code"),
    ({"unknown_setting": 1}, "unknown_setting"),
    ({"statistics_approval": {"four_eyes": "perhaps"}}, "statistics_approval.four_eyes"),
    ({"services": [{"id": "s", "name": "n", "kinds": ["medical"], "contact": "c",
                    "regions": ["NOPE"]}]}, "unknown region"),
])
def test_bad_value_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(config.ConfigError) as exc:
        config.parse(raw)
    assert field in str(exc.value)


def test_load_reports_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="not found"):
        config.load(tmp_path / "node.toml")
    (tmp_path / "node.toml").write_text("site_name = [", encoding="utf-8")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load(tmp_path / "node.toml")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda c: st.lists(c, max_size=3) | st.dictionaries(
                           st.text(max_size=10), c, max_size=3), max_leaves=8)


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["site_name", "languages", "limits", "regions",
                                        "services", "quick_exit_url", "default_language",
                                        "rate_limits", "demo", "statistics", "federation",
                                        "statistics_approval", "x"]), _values, max_size=5))
def test_parse_never_crashes(raw: dict[str, object]) -> None:
    try:
        config.parse(raw)
    except config.ConfigError as exc:
        assert str(exc).startswith("node.toml:")
