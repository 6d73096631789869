"""Rendering the public site's pages from a `Publication`: Jinja2 with autoescaping, charts
from `observatory.web.charts`, every string through the page language's `_`.

Pages are rendered once per publication, language and page, and kept with the publication
(`Publication.memo`): a new release makes a new publication, so nothing stale is served.
The stylesheet is small and inlined, allowed by its SHA-256 in the CSP; there is no script.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup

from observatory.config import ObservatoryConfig
from observatory.i18n import Catalogues, template_translator, translator
from observatory.statistics.publication import ALL, Publication, Scope, split_region
from observatory.web import labels
from observatory.web.charts import Point, bar_chart, line_chart
from observatory.web.rendering import inline_stylesheet, language_context, template_environment
from protocol import regions as geography
from protocol.vocabulary import UNKNOWN

TOP_REGIONS = 8       # small multiples drawn on a page
REGION_ROWS = 30      # rows of the federation's region table; the open data has them all



class Texts:
    """One language's words and number formats."""

    def __init__(self, lang: str, catalogue: gettext.NullTranslations) -> None:
        self.lang = lang
        self._ = template_translator(catalogue)
        self.gettext = translator(catalogue)
        self.locale = Locale.parse(lang)

    def num(self, value: float) -> str:
        return str(format_decimal(int(value), locale=self.lang))

    def epsilon(self, value: float) -> str:
        return str(format_decimal(round(value, 3), format="#,##0.###", locale=self.lang))

    def shown(self, estimate: float, lower: float, upper: float) -> tuple[str, str]:
        """(the value, its interval) as displayed: rounded, clamped at zero."""
        est, lo, hi = Point("", estimate, lower, upper, "").shown
        return self.num(est), self.gettext("%(low)s to %(high)s", low=self.num(lo),
                                         high=self.num(hi))

    def with_interval(self, estimate: float, lower: float, upper: float) -> str:
        value, interval = self.shown(estimate, lower, upper)
        return self.gettext("%(value)s (95%% interval: %(interval)s)", value=value,
                          interval=interval)

    def month(self, ym: str, short: bool = False) -> str:
        day = date(int(ym[:4]), int(ym[5:7]), 1)
        return str(format_date(day, "LLL" if short else "LLLL y", locale=self.locale))

    def country(self, code: str) -> str:
        return str(self.locale.territories.get(code, code))

    def value(self, dimension: str, code: str) -> str:
        label = labels.VALUES.get(dimension, {}).get(code)
        return self.gettext(label) if label else code

    def region(self, label: str, *, with_country: bool) -> str:
        """A region's name: a subdivision's in this language where the ISO 3166-2 data has
        it (`protocol.regions`), "not known", or a node's own code (releases from before the
        shared geography, ``CD/north``)."""
        sub = geography.subdivision(label)
        if sub is not None:
            country, name = sub.country, geography.name(label, self.lang)
        else:
            country, code = split_region(label) if "/" in label else ("", label)
            name = self.value("region", code)
        if not with_country or not country:
            return name
        return self.gettext("%(region)s (%(country)s)", region=name,
                          country=self.country(country))

    def dimension(self, name: str) -> str:
        label = labels.DIMENSIONS.get(name)
        return self.gettext(label) if label else name

    def table(self, name: str) -> str:
        label = labels.TABLES.get(name)
        return self.gettext(label) if label else name


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    interval: str


@dataclass(frozen=True)
class RegionRow:
    """A row of the table by region: keyed by the subdivision's ISO 3166-2 code."""

    code: str
    label: str
    value: str
    interval: str


@dataclass(frozen=True)
class Figure:
    chart: Markup
    rows: list[Row]


def _points(view: dict[str, Any], names: list[str], texts: Texts) -> list[Point]:
    out = []
    for i, name in enumerate(names):
        est, lo, hi = view["estimate"][i], view["lower"][i], view["upper"][i]
        value, _ = texts.shown(est, lo, hi)
        out.append(Point(name, est, lo, hi, f"{name}: {texts.with_interval(est, lo, hi)}",
                         value))
    return out


def _rows(points: list[Point], texts: Texts) -> list[Row]:
    return [Row(p.axis_label, *texts.shown(p.estimate, p.lower, p.upper)) for p in points]


def _one_dimension(view: dict[str, Any] | None, dimension: str, texts: Texts, *, chart_id: str,
                   title: str, rtl: bool) -> Figure | None:
    if view is None:
        return None
    names = [texts.value(dimension, v) for v in view["domains"][0]]
    points = _points(view, names, texts)
    desc = texts.gettext("Bars show estimates; lines show the 95% intervals.")
    return Figure(bar_chart(points, chart_id=chart_id, title=title, desc=desc, rtl=rtl),
                  _rows(points, texts))


def _months(view: dict[str, Any] | None, texts: Texts, title: str) -> Figure | None:
    if view is None:
        return None
    months = view["domains"][0]
    points = _points(view, [texts.month(m) for m in months], texts)
    short = [Point(texts.month(m, short=True), p.estimate, p.lower, p.upper, p.value_text)
             for m, p in zip(months, points, strict=True)]
    desc = texts.gettext("The line shows estimates; the band shows the 95% intervals.")
    return Figure(line_chart(short, chart_id="months", title=title, desc=desc),
                  _rows(points, texts))


@dataclass(frozen=True)
class Multiples:
    charts: list[tuple[str, Markup]]
    shown: int
    total: int


def _regions(view: dict[str, Any] | None, texts: Texts, *, with_country: bool
             ) -> Multiples | None:
    """Small multiples of the regions with the largest totals, on one shared scale."""
    if view is None:
        return None
    months, regions = view["domains"]
    shape = (len(months), len(regions))
    est = np.asarray(view["estimate"]).reshape(shape)
    lower = np.asarray(view["lower"]).reshape(shape)
    upper = np.asarray(view["upper"]).reshape(shape)
    order = np.argsort(-est.sum(axis=0), kind="stable")[:TOP_REGIONS]
    y_max = float(np.ceil(np.maximum(upper[:, order], 0).max())) if len(order) else 0.0
    desc = texts.gettext("The line shows estimates; the band shows the 95% intervals.")
    charts = []
    for n, j in enumerate(order):
        name = texts.region(regions[j], with_country=with_country)
        points = [Point(texts.month(m, short=True), float(est[i, j]), float(lower[i, j]),
                        float(upper[i, j]),
                        f"{name}, {texts.month(m)}: "
                        f"{texts.with_interval(est[i, j], lower[i, j], upper[i, j])}")
                  for i, m in enumerate(months)]
        charts.append((name, line_chart(points, chart_id=f"region-{n}", title=name,
                                        desc=desc, y_max=y_max, height=120, small=True)))
    return Multiples(charts, len(order), len(regions))


def _region_rows(view: dict[str, Any] | None, texts: Texts, *, with_country: bool,
                 limit: int | None) -> tuple[list[RegionRow], int]:
    """The table by region, largest estimates first: every region of a country's page, the
    `limit` largest of the federation's (the open data has them all)."""
    if view is None:
        return [], 0
    est = np.asarray(view["estimate"])
    order = np.argsort(-est, kind="stable")[:limit]
    codes = view["domains"][0]
    rows = [RegionRow("" if codes[j] == UNKNOWN else codes[j],
                      texts.region(codes[j], with_country=with_country),
                      *texts.shown(view["estimate"][j], view["lower"][j], view["upper"][j]))
            for j in order]
    return rows, len(est)


class SiteRenderer:
    def __init__(self, config: ObservatoryConfig, catalogues: Catalogues | None = None) -> None:
        self.config = config
        self.site_name = config.name
        self.languages: tuple[str, ...] = tuple(config.languages)
        self.catalogues = catalogues or Catalogues(self.languages)
        self.env = template_environment()
        self.css, self.css_hash = inline_stylesheet("public.css")
        self._texts: dict[str, Texts] = {lang: Texts(lang, self.catalogues.get(lang))
                                          for lang in self.languages}

    def texts(self, lang: str) -> Texts:
        return self._texts[lang]

    def _render(self, template: str, lang: str, path: str, **context: Any) -> str:
        texts = self._texts[lang]
        return self.env.get_template(template).render(
            _=texts._, t=texts, **language_context(lang, self.catalogues),
            site_name=self.site_name, css=self.css, path=path, **context)

    # -- pages ---------------------------------------------------------------------------

    def statistics(self, pub: Publication, lang: str, scope: Scope, year: str | None) -> str:
        """The dashboard (scope ALL) or a country's page; `year` is one of the scope's."""
        texts = self._texts[lang]
        rtl = self.catalogues.direction(lang) == "rtl"
        country = None if scope.key == ALL else scope.key
        path = "/" if country is None else f"/countries/{country}"
        if year:
            path += f"?year={year}"
        periods = scope.periods
        if not periods:
            return self._render("public/statistics.html", lang, path, country=country,
                                period=None, periods=(), total=None)
        period = year or periods[0]
        view = scope.view(period)
        total = view["total"]
        countries = []
        if country is None:
            for code, s in pub.countries.items():
                if period in s.periods:
                    t = s.view(period)["total"]
                    countries.append((code, texts.country(code),
                                      *texts.shown(t["estimate"][0], t["lower"][0],
                                                   t["upper"][0]),
                                      texts.num(pub.nodes_in(period, code))))
            countries.sort(key=lambda c: c[1])
        region_rows, region_count = _region_rows(
            view["by_region"], texts, with_country=country is None,
            limit=REGION_ROWS if country is None else None)
        return self._render(
            "public/statistics.html", lang, path, country=country, period=period,
            periods=periods,
            total=None if total is None else texts.shown(total["estimate"][0],
                                                         total["lower"][0], total["upper"][0]),
            organisations=texts.num(pub.nodes_in(period, country)),
            months=_months(view["by_month"], texts, texts.gettext("Incidents by month")),
            regions=_regions(view["by_month_region"], texts, with_country=country is None),
            region_rows=region_rows, region_count=texts.num(region_count),
            region_more=region_count > len(region_rows),
            categories=_one_dimension(view["by_category"], "category", texts,
                                      chart_id="categories",
                                      title=texts.gettext("Incidents by type of violence"),
                                      rtl=rtl),
            affiliations=_one_dimension(view["by_affiliation"], "perpetrator_affiliation",
                                        texts, chart_id="affiliations",
                                        title=texts.gettext("Incidents by perpetrators"),
                                        rtl=rtl),
            countries=countries)

    def methodology(self, pub: Publication, lang: str) -> str:
        texts = self._texts[lang]
        losses = [(n.organisation_name, texts.country(n.country), n.period,
                   texts.num(n.releases), texts.epsilon(n.epsilon_spent),
                   texts.epsilon(n.budget_per_period), n.counted) for n in pub.losses]
        return self._render(
            "public/methodology.html", lang, "/methodology", losses=losses,
            limit=texts.epsilon(pub.plan.max_epsilon_per_period),
            plan=[(texts.table(t.name), t.name,
                   [texts.dimension(d) for d in t.dimensions]) for t in pub.plan.tables])

    def data(self, pub: Publication, lang: str) -> str:
        texts = self._texts[lang]
        dims = [(d, texts.dimension(d)) for d in pub.plan.dimensions()]
        return self._render("public/data.html", lang, "/data", dimensions=dims,
                            releases=texts.num(pub.releases),
                            periods=pub.periods)

    def not_found(self, lang: str) -> str:
        return self._render("public/not_found.html", lang, "/")
