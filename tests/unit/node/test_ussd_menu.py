"""The USSD menu (issue 19) as a pure function of the gateway's `text`: every screen of
every path fits one USSD message in every language (GSM-7 for English, UCS-2 for Arabic
and Ukrainian), answers map to the report, and any input gives a screen, never an error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from node.channels import ussd_menu as m
from node.i18n import Catalogues

LANGS = ("en", "fr", "ar", "sw", "uk")
CATALOGUES = Catalogues(LANGS)
REGION_NAMES = {
    "en": ["North Kivu", "South Kivu", "Ituri", "Tanganyika", "Maniema", "Haut-Uele",
           "Bas-Uele", "Tshopo", "Kinshasa", "Kasai"],
    "ar": ["شمال كيفو", "جنوب كيفو", "إيتوري", "تنجانيقا", "مانيما", "أويلي العليا",
           "أويلي السفلى", "تشوبو", "كينشاسا", "كاساي"],
    "uk": ["Північне Ківу", "Південне Ківу", "Ітурі", "Танганьїка", "Маніема",
           "Верхнє Уеле", "Нижнє Уеле", "Чопо", "Кіншаса", "Касаї"],
}


def menu(languages: tuple[str, ...] = LANGS, default: str = "en",
         regions: int = 10) -> m.Menu:
    def names(lang: str) -> list[m.Region]:
        labels = REGION_NAMES.get(lang, REGION_NAMES["en"])[:regions]
        return [m.Region(f"R{i}", label) for i, label in enumerate(labels, 1)]

    return m.Menu(languages, default, names,
                  lambda lang, msgid: CATALOGUES.get(lang).gettext(msgid))


# warning, language, report, role, needs, region, care ... sharing, contact, when, confirm
def report_path(lang_no: int) -> list[str]:
    return ["1", str(lang_no), "1", "1", "13", "1", "1", "1", "2", "1", "2", "1", "3", "1"]


def screens_along(menu_: m.Menu, answers: list[str]) -> list[m.Outcome]:
    return [m.answer(menu_, "*".join(answers[:i])) for i in range(len(answers) + 1)]


def test_gsm7_and_ucs2_lengths() -> None:
    assert m.septets("Hello {x}") == 11  # a brace is an extension character: 2 septets
    assert m.septets("Привіт") is None and m.septets("مرحبا") is None
    assert m.fits("a" * 182) and not m.fits("a" * 183)
    assert m.fits("ж" * 80) and not m.fits("ж" * 81)


def test_every_screen_fits_in_every_language() -> None:
    ucs2 = set()
    for number, lang in enumerate(LANGS, 1):
        menu_ = menu(default=lang)
        paths = [report_path(number)[:-1],
                 [*report_path(number)[:5], "8"],              # the region list's second page
                 [*report_path(number)[:4], "x"],              # a wrong answer's note
                 [*report_path(number)[:5], "77"],
                 ["1", str(number), "2", "1234"],              # check: a bad receipt
                 ["1", str(number), "2", "1234567890"]]
        for path in paths:
            for outcome in screens_along(menu_, path):
                assert isinstance(outcome, m.Screen), (lang, path)
                assert m.fits(outcome.text), (lang, outcome.text)
                # the language list names each language in its own script: UCS-2 always
                if m.septets(outcome.text) is None and "English" not in outcome.text:
                    ucs2.add(lang)
        for msgid in (m.STOPPED, m.CANCELLED, m.NOTHING_TO_SEND, m.TOO_LONG):
            assert m.fits(menu_.translate(lang, msgid))
    assert {"ar", "uk"} <= ucs2
    assert "en" not in ucs2


def test_screens_are_translated() -> None:
    for lang in ("fr", "ar", "sw", "uk"):
        menu_ = menu()
        outcome = m.answer(menu_, f"1*{LANGS.index(lang) + 1}*1")
        assert isinstance(outcome, m.Screen)
        assert "Who are you?" not in outcome.text
        assert outcome.text.startswith(CATALOGUES.get(lang).gettext(m.ROLE_QUESTION))


def test_a_full_path_gives_the_report() -> None:
    outcome = m.answer(menu(), "*".join(report_path(3)))  # Arabic
    assert outcome == m.Submit(
        lang="ar", role="survivor", needs=("medical", "legal"), region="R1",
        consent={"care": True, "referral": True, "legal": False, "statistics": True,
                 "sharing": False, "contact": True},
        call_back="evening")


def test_no_contact_no_call_back_and_skips() -> None:
    # warning, English, report, skip role, skip needs, skip region, no to all, no contact
    outcome = m.answer(menu(), "1*1*1*4*6*9*2*2*2*2*2*2*1")
    assert outcome == m.Submit(lang="en", role=None, needs=(), region=None,
                               consent=dict.fromkeys(
                                   ("care", "referral", "legal", "statistics", "sharing",
                                    "contact"), False), call_back=None)


def test_region_pages_and_back() -> None:
    menu_ = menu()
    first = m.answer(menu_, "1*1*1*1*1")
    assert isinstance(first, m.Screen) and "North Kivu" in first.text and "8 More" in first.text
    second = m.answer(menu_, "1*1*1*1*1*8")
    assert isinstance(second, m.Screen) and "Kasai" in second.text
    assert "North Kivu" not in second.text
    picked = m.answer(menu_, "1*1*1*1*1*8*2*1*1*1*1*1*2*1")
    assert isinstance(picked, m.Submit) and picked.region == "R9"
    # back from the second page shows the first; back again goes to the needs question
    assert m.answer(menu_, "1*1*1*1*1*8*0") == first
    assert m.answer(menu_, "1*1*1*1*1*0") == m.answer(menu_, "1*1*1*1")


def test_bad_answers_stay_on_the_screen() -> None:
    menu_ = menu()
    role = m.answer(menu_, "1*1*1")
    for bad in ("", "9", "abc", "+1", "1 2", "٣٣", "²", "-1", "1.0"):
        again = m.answer(menu_, f"1*1*1*{bad}")
        assert isinstance(again, m.Screen) and not again.end
        assert again.text.startswith("Not on the list.")
        assert isinstance(role, m.Screen) and again.text.endswith(role.text.split("\n", 1)[1])
    needs = m.answer(menu_, "1*1*1*1*51")  # "none" with another need
    assert isinstance(needs, m.Screen) and needs.text.startswith("Not on the list.")


def test_stop_and_cancel_end_with_nothing() -> None:
    menu_ = menu()
    assert m.answer(menu_, "1*1*00") == m.Screen("Stopped. Nothing was kept.", end=True)
    cancelled = m.answer(menu_, "*".join([*report_path(1)[:-1], "2"]))
    assert cancelled == m.Screen("Cancelled. Nothing was kept.", end=True)
    assert isinstance(m.answer(menu_, "1*" * 700), m.Screen)


def test_check_my_report() -> None:
    menu_ = menu()
    code, secret = "4831029951", "603117842590216733418"
    asked = m.answer(menu_, f"1*1*2*{code}")
    assert isinstance(asked, m.Screen) and asked.text == "Type your secret:"
    outcome = m.answer(menu_, f"1*1*2*{code}*{secret}")
    assert isinstance(outcome, m.Check) and outcome.receipt == code
    wrong = m.answer(menu_, "1*1*2*1234567890")
    assert isinstance(wrong, m.Screen) and wrong.text.startswith("That is not a receipt")


def test_one_language_and_no_regions_skip_their_screens() -> None:
    menu_ = menu(languages=("fr",), default="fr", regions=0)
    outcome = m.answer(menu_, "1*1*1*1*1*1*1*1*1*2*1")
    assert isinstance(outcome, m.Submit) and outcome.lang == "fr" and outcome.region is None


ANSWER = st.one_of(st.sampled_from(["0", "00", "1", "2", "3", "8", "9", "13", "", " ", "#"]),
                   st.text(max_size=25))


@settings(max_examples=400, deadline=None)
@given(st.lists(ANSWER, max_size=30), st.sampled_from(LANGS))
def test_any_text_gives_an_outcome_that_fits(answers: list[str], lang: str) -> None:
    outcome = m.answer(menu(default=lang), "*".join(answers))
    assert isinstance(outcome, m.Screen | m.Submit | m.Check | m.NewSecret)
    if isinstance(outcome, m.Screen) and not outcome.end:
        assert m.fits(outcome.text), outcome.text


def test_the_web_layers_end_screens_fit() -> None:
    from node.web import ussd

    for lang in LANGS:
        t = CATALOGUES.get(lang).gettext
        ends = [t(ussd.SENT) % {"receipt": "18625 87682",
                                "secret": "802 221 028 826 318 866 678"}]
        ends += [t(ussd.STATUS) % {"status": t(s)} + "\n" + t(waiting)
                 for s in m.STATUS_SHORT.values()
                 for waiting in (ussd.MESSAGE_WAITING, ussd.NO_MESSAGE)]
        ends += [t(x) for x in (ussd.NOT_RECOGNISED, ussd.TOO_MANY, ussd.UNKNOWN_CODE,
                                ussd.TRY_AGAIN)]
        for text in ends:
            assert m.fits(text), (lang, text)


def test_check_then_set_an_sms_pin() -> None:
    code, secret = "4831029951", "603117842590216733418"
    for number, lang in enumerate(LANGS, 1):
        base = menu(default=lang)
        menu_ = m.Menu(base.languages, base.default_language, base.regions, base.translate,
                       sms_pin=True)
        t = CATALOGUES.get(lang).gettext
        start = f"1*{number}*2*{code}*{secret}"
        assert m.answer(menu_, start) == m.Check(lang, code, secret)
        assert m.answer(menu_, start + "*7") == m.Check(lang, code, secret)  # not on the list
        # "more": the PIN or a new secret (issue 19), then the PIN's screens
        assert m.answer(menu_, start + "*1") == m.Screen(
            f"1 {t(m.SET_PIN)}\n2 {t(m.NEW_SECRET)}")
        screens = [m.answer(menu_, start + tail) for tail in (
            "*1*1", "*1*1*12", "*1*1*123456", "*1*1*123456*123457")]
        assert [s.text for s in screens if isinstance(s, m.Screen)] == [
            t(m.PIN_QUESTION), t(m.NOT_A_PIN) + "\n" + t(m.PIN_QUESTION), t(m.PIN_AGAIN),
            t(m.NOT_THE_SAME) + "\n" + t(m.PIN_AGAIN)]
        for screen in screens:
            assert isinstance(screen, m.Screen) and m.fits(screen.text) and not screen.end
        assert m.answer(menu_, start + "*1*1*123456*123456") == m.SetPin(lang, code, secret,
                                                                         "123456")
        assert m.answer(menu_, start + "*1*1*0") == m.Screen(
            f"1 {t(m.SET_PIN)}\n2 {t(m.NEW_SECRET)}")  # back
        assert m.answer(menu_, start + "*1*0") == m.Check(lang, code, secret)
        assert m.answer(menu_, start + "*1*2*1") == m.NewSecret(lang, code, secret)
    # without SMS, the status offers a new secret directly
    assert m.answer(menu(), f"1*1*2*{code}*{secret}*1") == m.Screen(
        "Get a new secret? The old one will stop working.\n1 Yes\n2 No")


def test_the_status_screen_with_the_pin_offer_fits() -> None:
    from node.web import ussd

    for lang in LANGS:
        t = CATALOGUES.get(lang).gettext
        for s in m.STATUS_SHORT.values():
            for waiting in (ussd.MESSAGE_WAITING, ussd.NO_MESSAGE):
                text = (t(ussd.STATUS) % {"status": t(s)} + "\n" + t(waiting)
                        + "\n1 " + t(m.SET_PIN))
                assert m.fits(text), (lang, text)
        assert m.fits(t(ussd.PIN_SET) % {"keyword": "STATUS"}), lang


# Every shipped language, Spanish and Portuguese included (issue 20), for the SMS screens.
SHIPPED = ("en", "fr", "ar", "sw", "uk", "es", "pt")
SHIPPED_CATALOGUES = Catalogues(SHIPPED)


def notice_menu(lang: str) -> m.Menu:
    return m.Menu(SHIPPED, lang, lambda _lang: [],
                  lambda lang_, msgid: SHIPPED_CATALOGUES.get(lang_).gettext(msgid),
                  sms_pin=True, sms_notice=True)


def test_sms_notices_on_and_off_after_the_check() -> None:
    """Issue 19: with notices, the status offers "SMS options": the PIN, or notices of a
    waiting message on or off; every screen fits in every shipped language."""
    code, secret = "4831029951", "603117842590216733418"
    for number, lang in enumerate(SHIPPED, 1):
        menu_ = notice_menu(lang)
        t = SHIPPED_CATALOGUES.get(lang).gettext
        start = f"1*{number}*2*{code}*{secret}"
        assert m.answer(menu_, start) == m.Check(lang, code, secret)
        options = m.answer(menu_, start + "*1")
        assert options == m.Screen(
            f"1 {t(m.SET_PIN)}\n2 {t(m.NOTICE_OPTION)}\n3 {t(m.NEW_SECRET)}")
        question = m.answer(menu_, start + "*1*2")
        assert question == m.Screen(f"{t(m.NOTICE_QUESTION)}\n1 {t(m.YES)}\n2 {t(m.NO)}")
        wrong = m.answer(menu_, start + "*1*2*7")
        for screen in (options, question, wrong):
            assert isinstance(screen, m.Screen) and not screen.end
            assert m.fits(screen.text), (lang, screen.text)
        assert m.answer(menu_, start + "*1*2*1") == m.SetNotice(lang, code, secret, True)
        assert m.answer(menu_, start + "*1*2*2") == m.SetNotice(lang, code, secret, False)
        assert m.answer(menu_, start + "*1*1*123456*123456") == m.SetPin(
            lang, code, secret, "123456")
        assert m.answer(menu_, start + "*1*2*0") == options  # back
        assert m.answer(menu_, start + "*1*0") == m.Check(lang, code, secret)


def test_the_sms_screens_of_the_web_layer_fit_in_every_shipped_language() -> None:
    from node.web import ussd

    for lang in SHIPPED:
        t = SHIPPED_CATALOGUES.get(lang).gettext
        for text in (t(ussd.NOTICE_ON), t(ussd.NOTICE_OFF), t(ussd.NOTICE_NEEDS_CONTACT)):
            assert m.fits(text), (lang, text)
        for s in m.STATUS_SHORT.values():
            for waiting in (ussd.MESSAGE_WAITING, ussd.NO_MESSAGE):
                # a node with SMS ("more"), or without (a new secret), and as before
                for offer in (m.MORE, m.NEW_SECRET, m.SMS_OPTIONS, m.SET_PIN):
                    text = (t(ussd.STATUS) % {"status": t(s)} + "\n" + t(waiting)
                            + "\n1 " + t(offer))
                    assert m.fits(text), (lang, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(ANSWER, max_size=12), st.sampled_from(SHIPPED))
def test_any_text_after_a_check_gives_an_outcome_that_fits(answers: list[str],
                                                           lang: str) -> None:
    start = ["1", str(SHIPPED.index(lang) + 1), "2", "4831029951", "603117842590216733418"]
    outcome = m.answer(notice_menu(lang), "*".join(start + answers))
    assert isinstance(outcome, m.Screen | m.Check | m.SetPin | m.SetNotice | m.NewSecret)
    if isinstance(outcome, m.Screen) and not outcome.end:
        assert m.fits(outcome.text), outcome.text


def test_a_new_secret_after_the_check_in_every_shipped_language() -> None:
    """Issue 19: under "check my report", a new secret, asked once more; every screen, the
    last one with the new secret included, fits in every shipped language."""
    from node.web import ussd

    code, secret = "4831029951", "603117842590216733418"
    for number, lang in enumerate(SHIPPED, 1):
        t = SHIPPED_CATALOGUES.get(lang).gettext
        plain = m.Menu(SHIPPED, lang, lambda _lang: [],
                       lambda lang_, msgid: SHIPPED_CATALOGUES.get(lang_).gettext(msgid))
        start = f"1*{number}*2*{code}*{secret}"
        for menu_, path in ((plain, "*1"), (notice_menu(lang), "*1*3")):
            question = m.answer(menu_, start + path)
            assert question == m.Screen(
                f"{t(m.NEW_SECRET_QUESTION)}\n1 {t(m.YES)}\n2 {t(m.NO)}")
            assert m.fits(question.text), (lang, question.text)
            assert m.answer(menu_, start + path + "*1") == m.NewSecret(lang, code, secret)
            assert m.answer(menu_, start + path + "*2") == m.Screen(
                t(m.NOTHING_CHANGED), end=True)
        shown = t(ussd.NEW_SECRET_SHOWN) % {"secret": "802 221 028 826 318 866 678"}
        assert m.fits(shown) and "802 221 028 826 318 866 678" in shown, (lang, shown)
