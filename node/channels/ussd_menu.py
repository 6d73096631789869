"""The USSD menu as a pure function of the gateway's ``text`` (issue 19), sans-IO.

USSD gateways in the Africa's Talking convention send, at every step, all the answers of
the session so far joined by ``*``. The menu therefore keeps no session state at all: each
request replays the answers from the first screen, so an abandoned session leaves nothing
behind, and the same answers always give the same screen. ``0`` goes back one screen,
``00`` stops (nothing is kept); an answer that is not on the list keeps the person on the
same screen with a short note. The outcome is either a screen to show, an end, a report to
submit, a receipt to check, or a receipt secret to replace; the web layer
(`node.web.ussd`) does the writing.

Each screen must fit one USSD message: 182 characters when every character is in the GSM
03.38 default alphabet (7-bit, 160 octets), 80 when one is not and the message goes as
UCS-2 (2 octets a character), as for Arabic and Ukrainian.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from crypto import receipt
from crypto.errors import FormatError
from node.i18n import N_
from node.intake.models import NEEDS

GSM7_LIMIT = 182
UCS2_LIMIT = 80
MAX_TEXT = 1200       # longer than any honest session; refused with a safe end
MAX_ANSWERS = 80
BACK, STOP = "0", "00"
PIN_DIGITS = 6  # the SMS status PIN (`node.channels.sms_pins`)

# GSM 03.38 default alphabet and its extension table (each extension costs two septets).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def septets(text: str) -> int | None:
    """The GSM-7 length of `text`, or None when it needs UCS-2."""
    n = 0
    for ch in text:
        if ch in _GSM7_BASIC:
            n += 1
        elif ch in _GSM7_EXTENDED:
            n += 2
        else:
            return None
    return n


def fits(text: str) -> bool:
    """Whether `text` fits one USSD screen in the encoding it needs."""
    n = septets(text)
    return n <= GSM7_LIMIT if n is not None else len(text) <= UCS2_LIMIT


NATIVE_NAMES = {"en": "English", "fr": "Français", "ar": "العربية", "sw": "Kiswahili",
                "uk": "Українська"}

WARNING = N_("Your phone company can see what you type. To stop, hang up or type 00.")
CONTINUE = N_("Continue")
NOT_ON_LIST = N_("Not on the list.")
MAIN = N_("Make a report")
CHECK = N_("Check my report")
ROLE_QUESTION = N_("Who are you?")
ROLES = (("survivor", N_("Survivor")), ("relative", N_("Relative")),
         ("witness", N_("Witness")))
SKIP = N_("Skip")
NEEDS_QUESTION = N_("Help you need? One or more numbers:")
NEED_LABELS = {"medical": N_("Medical"), "psychosocial": N_("Counselling"),
               "legal": N_("Legal"), "shelter": N_("Shelter"), "none": N_("None")}
REGION_QUESTION = N_("Where did it happen?")
MORE = N_("More")
# The consents a USSD report asks (matching, issue 18, is asked on the receipt page: its
# question does not fit a screen in plain words).
UssdConsent = Literal["care", "referral", "legal", "statistics", "sharing"]
CONSENT_QUESTIONS: tuple[tuple[UssdConsent, str], ...] = (
    ("care", N_("May we use it to help you?")),
    ("referral", N_("May we refer you to services?")),
    ("legal", N_("May we keep it as evidence for justice?")),
    ("statistics", N_("May we count it in anonymous statistics?")),
    ("sharing", N_("May we share it with trusted partners?")),
)
YES, NO = N_("Yes"), N_("No")
CONTACT_QUESTION = N_("May we call you back on this phone?")
WHEN_QUESTION = N_("When is it safe to call?")
CALL_TIMES = (("morning", N_("Morning")), ("afternoon", N_("Afternoon")),
              ("evening", N_("Evening")), ("any time", N_("Any time")))
CONFIRM_QUESTION = N_("Send your report?")
SEND, CANCEL = N_("Send"), N_("Cancel")
RECEIPT_QUESTION = N_("Type your receipt number:")
SECRET_QUESTION = N_("Type your secret:")
NOT_A_RECEIPT = N_("That is not a receipt number.")
NOT_A_SECRET = N_("That is not a secret.")
SET_PIN = N_("PIN for SMS status")
SMS_OPTIONS = N_("SMS options")
NOTICE_OPTION = N_("SMS when a message waits")
NOTICE_QUESTION = N_("Send you an SMS when a message waits? It never says what.")
PIN_QUESTION = N_("Type a PIN of 6 digits:")
PIN_AGAIN = N_("Type the same PIN again:")
NOT_A_PIN = N_("A PIN has exactly 6 digits.")
NOT_THE_SAME = N_("Not the same PIN.")
# Issue 19: USSD screens are not kept in the phone's inbox, but the carrier sees them; the
# reporter may replace the secret, here or on the site. Asked once more, since the old
# secret stops working at once.
NEW_SECRET = N_("New secret")
NEW_SECRET_QUESTION = N_("Get a new secret? The old one will stop working.")
NOTHING_CHANGED = N_("Nothing was changed.")
STOPPED = N_("Stopped. Nothing was kept.")
CANCELLED = N_("Cancelled. Nothing was kept.")
NOTHING_TO_SEND = N_("You gave no answer, so nothing was sent.")
TOO_LONG = N_("This session is too long. Nothing was kept. Please dial again.")
# A report's status in a few words: the site's sentences do not fit a UCS-2 screen.
STATUS_SHORT = {"new": N_("Received, not yet read"), "in_triage": N_("Being read"),
                "assigned": N_("A caseworker follows it"),
                "referred": N_("Referred to services"), "closed": N_("Case closed"),
                "withdrawn": N_("Withdrawn")}

Translate = Callable[[str, str], str]  # (language, msgid) -> text


@dataclass(frozen=True)
class Region:
    code: str
    label: str  # in the language of the screen


@dataclass(frozen=True)
class Menu:
    """What the menu needs to know about the node."""

    languages: Sequence[str]
    default_language: str
    regions: Callable[[str], Sequence[Region]]  # the node's regions, labelled in a language
    translate: Translate
    sms_pin: bool = False  # "check my report" then offers a status-only PIN for SMS
    # ... and also to turn SMS notices of a waiting message on or off (issue 19): the
    # status screen then offers "SMS options", a screen of its own, since the two do not
    # fit beside the status in UCS-2
    sms_notice: bool = False


@dataclass(frozen=True)
class Screen:
    text: str
    end: bool = False


@dataclass(frozen=True)
class Submit:
    """A finished report: its answers (the caller builds the `ReportInput`)."""

    lang: str
    role: str | None
    needs: tuple[str, ...]
    region: str | None
    consent: dict[str, bool]
    call_back: str | None  # None: no contact consent, the number is not kept


@dataclass(frozen=True)
class Check:
    lang: str
    receipt: str
    secret: str


@dataclass(frozen=True)
class SetPin:
    """After "check my report": set the report's status-only PIN for SMS."""

    lang: str
    receipt: str
    secret: str
    pin: str


@dataclass(frozen=True)
class SetNotice:
    """After "check my report": SMS notices of a waiting message on or off."""

    lang: str
    receipt: str
    secret: str
    on: bool


@dataclass(frozen=True)
class NewSecret:
    """After "check my report": replace the receipt secret (the web layer shows the new one)."""

    lang: str
    receipt: str
    secret: str


Outcome = Screen | Submit | Check | SetPin | SetNotice | NewSecret

Step = Literal["warning", "lang", "main", "role", "needs", "region", "care", "referral",
               "legal", "statistics", "sharing", "contact", "when", "confirm", "receipt",
               "secret", "after_check", "sms_choice", "pin", "pin_again", "notice",
               "new_secret"]
_REPORT_STEPS: tuple[Step, ...] = ("role", "needs", "region", "care", "referral", "legal",
                                   "statistics", "sharing", "contact", "when", "confirm")


@dataclass
class _State:
    answers: dict[Step, object] = field(default_factory=dict)
    history: list[Step] = field(default_factory=list)
    region_page: int = 0


def answer(menu: Menu, text: str) -> Outcome:
    """The outcome of a session whose answers so far are `text` (``a*b*c``)."""
    lang = menu.default_language
    if len(text) > MAX_TEXT:
        return Screen(menu.translate(lang, TOO_LONG), end=True)
    parts = [p.strip() for p in text.split("*")] if text else []
    if len(parts) > MAX_ANSWERS:
        return Screen(menu.translate(lang, TOO_LONG), end=True)
    state = _State()
    error: str | None = None
    for part in parts:
        step = _next_step(menu, state)
        lang = _lang(menu, state)
        if part == STOP:
            return Screen(menu.translate(lang, STOPPED), end=True)
        if part == BACK:
            _back(state, step)
            error = None
            continue
        if step == "region" and part == str(_more_option(menu, lang, state)):
            state.region_page += 1
            error = None
            continue
        value, problem = _parse(menu, state, step, part)
        if problem is not None:
            error = problem
            continue
        error = None
        state.answers[step] = value
        state.history.append(step)
        if step == "confirm":
            return _finish(menu, state) if value == "send" else Screen(
                menu.translate(_lang(menu, state), CANCELLED), end=True)
        if step == "pin_again":
            return SetPin(_lang(menu, state), str(state.answers["receipt"]),
                          str(state.answers["secret"]), str(value))
        if step == "notice":
            return SetNotice(_lang(menu, state), str(state.answers["receipt"]),
                             str(state.answers["secret"]), value is True)
        if step == "new_secret":
            return NewSecret(_lang(menu, state), str(state.answers["receipt"]),
                             str(state.answers["secret"])) if value is True else Screen(
                menu.translate(_lang(menu, state), NOTHING_CHANGED), end=True)
    if state.history and state.history[-1] == "secret":
        # the web layer checks the receipt and shows the status with its option (again,
        # after an answer not on the list)
        return Check(_lang(menu, state), str(state.answers["receipt"]),
                     str(state.answers["secret"]))
    return Screen(_render(menu, state, _next_step(menu, state), error))


def _lang(menu: Menu, state: _State) -> str:
    chosen = state.answers.get("lang")
    return chosen if isinstance(chosen, str) else menu.default_language


def _applies(menu: Menu, state: _State, step: Step) -> bool:
    a = state.answers
    if step == "lang":
        return len(menu.languages) > 1
    if step in ("receipt", "secret"):
        return a.get("main") == "check"
    if step in ("after_check", "sms_choice", "pin", "pin_again", "notice", "new_secret"):
        if a.get("main") != "check":
            return False
        if step == "after_check":
            return True
        if step == "new_secret":
            return "new_secret" in (a.get("after_check"), a.get("sms_choice"))
        if not menu.sms_pin:
            return False
        if step == "sms_choice":
            return a.get("after_check") == "more"
        if step in ("pin", "pin_again"):
            return a.get("sms_choice") == "pin"
        if step == "notice":
            return menu.sms_notice and a.get("sms_choice") == "notice"
    if step in _REPORT_STEPS:
        if a.get("main") != "report":
            return False
        if step == "region":
            return bool(menu.regions(_lang(menu, state)))
        if step == "when":
            return a.get("contact") is True
    return True


_ORDER: tuple[Step, ...] = ("warning", "lang", "main", *_REPORT_STEPS, "receipt", "secret",
                            "after_check", "sms_choice", "pin", "pin_again", "notice",
                            "new_secret")


def _next_step(menu: Menu, state: _State) -> Step:
    for step in _ORDER:
        if step not in state.answers and _applies(menu, state, step):
            return step
    return "confirm"  # not reached: the last step of each branch ends the session


def _back(state: _State, step: Step) -> None:
    if step == "region" and state.region_page > 0:
        state.region_page -= 1
        return
    if state.history:
        last = state.history.pop()
        del state.answers[last]
        state.region_page = 0


def _options(menu: Menu, state: _State, step: Step) -> list[tuple[object, str]]:
    """(value, msgid or label) of each numbered option of a choice screen, from 1."""
    if step == "warning":
        return [(True, CONTINUE)]
    if step == "lang":
        return [(code, NATIVE_NAMES.get(code, code)) for code in menu.languages]
    if step == "main":
        return [("report", MAIN), ("check", CHECK)]
    if step == "role":
        return [*ROLES, (None, SKIP)]
    if step in ("care", "referral", "legal", "statistics", "sharing", "contact"):
        return [(True, YES), (False, NO)]
    if step == "when":
        return list(CALL_TIMES)
    if step == "confirm":
        return [("send", SEND), ("cancel", CANCEL)]
    if step == "after_check":
        return [after_check_offer(menu)]
    if step == "sms_choice":
        return [("pin", SET_PIN), *([("notice", NOTICE_OPTION)] if menu.sms_notice else []),
                ("new_secret", NEW_SECRET)]
    if step in ("notice", "new_secret"):
        return [(True, YES), (False, NO)]
    return []


def after_check_offer(menu: Menu) -> tuple[str, str]:
    """The one option under the status screen: a new secret, or, where SMS is set up,
    "more" (the SMS choices and a new secret: the status screen has no room for both in
    UCS-2)."""
    return ("more", MORE) if menu.sms_pin else ("new_secret", NEW_SECRET)


def _region_pages(menu: Menu, lang: str) -> list[list[Region]]:
    """The node's regions split into screens that fit, in order (at most 7 a screen:
    8 is "more", 9 is "skip")."""
    regions = list(menu.regions(lang))
    title = menu.translate(lang, REGION_QUESTION)
    tail = f"\n8 {menu.translate(lang, MORE)}\n9 {menu.translate(lang, SKIP)}"
    pages: list[list[Region]] = [[]]
    for r in regions:
        page = pages[-1]
        candidate = [*page, r]
        body = title + "".join(f"\n{i} {x.label}" for i, x in enumerate(candidate, 1)) + tail
        if page and (len(candidate) > 7 or not fits(body)):
            pages.append([r])
        else:
            page.append(r)
    return pages


def _more_option(menu: Menu, lang: str, state: _State) -> int | None:
    pages = _region_pages(menu, lang)
    return 8 if state.region_page < len(pages) - 1 else None


def _choice(part: str, count: int) -> int | None:
    if not part.isdecimal() or len(part) > 3:
        return None
    n = int(part)
    return n if 1 <= n <= count else None


def _parse(menu: Menu, state: _State, step: Step, part: str) -> tuple[object, str | None]:
    """(the answer's value, None) or (None, the note to show on the same screen)."""
    lang = _lang(menu, state)
    if step == "needs":
        return _parse_needs(part)
    if step == "region":
        pages = _region_pages(menu, lang)
        page = pages[min(state.region_page, len(pages) - 1)]
        if part == "9":
            return None, None
        n = _choice(part, len(page))
        return (page[n - 1].code, None) if n is not None else (None, NOT_ON_LIST)
    if step == "receipt":
        try:
            return receipt.normalize_receipt_code(part), None
        except FormatError:
            return None, NOT_A_RECEIPT
    if step == "secret":
        try:
            return receipt.normalize_secret(part), None
        except FormatError:
            return None, NOT_A_SECRET
    if step == "pin":
        ok = len(part) == PIN_DIGITS and part.isascii() and part.isdigit()
        return (part, None) if ok else (None, NOT_A_PIN)
    if step == "pin_again":
        return (part, None) if part == state.answers.get("pin") else (None, NOT_THE_SAME)
    options = _options(menu, state, step)
    n = _choice(part, len(options))
    return (options[n - 1][0], None) if n is not None else (None, NOT_ON_LIST)


def _parse_needs(part: str) -> tuple[object, str | None]:
    """One or more digits: 1-5 are needs (5 "none" alone), 6 skips."""
    if not part.isdecimal() or len(part) > len(NEEDS):
        return None, NOT_ON_LIST
    if part == str(len(NEEDS) + 1):
        return (), None
    chosen: list[str] = []
    for digit in part:
        n = int(digit)
        if not 1 <= n <= len(NEEDS):
            return None, NOT_ON_LIST
        need = NEEDS[n - 1]
        if need not in chosen:
            chosen.append(need)
    if "none" in chosen and len(chosen) > 1:
        return None, NOT_ON_LIST
    return tuple(chosen), None


def _render(menu: Menu, state: _State, step: Step, error: str | None) -> str:
    lang = _lang(menu, state)
    t = menu.translate
    lines: list[str] = [t(lang, error)] if error else []
    if step == "warning":
        lang = menu.default_language
        lines.append(t(lang, WARNING))
    elif step == "region":
        pages = _region_pages(menu, lang)
        page_no = min(state.region_page, len(pages) - 1)
        lines.append(t(lang, REGION_QUESTION))
        lines += [f"{i} {r.label}" for i, r in enumerate(pages[page_no], 1)]
        if page_no < len(pages) - 1:
            lines.append(f"8 {t(lang, MORE)}")
        lines.append(f"9 {t(lang, SKIP)}")
        return _fitted(lines, error is not None)
    elif step == "needs":
        lines.append(t(lang, NEEDS_QUESTION))
        lines += [f"{i} {t(lang, NEED_LABELS[n])}" for i, n in enumerate(NEEDS, 1)]
        lines.append(f"{len(NEEDS) + 1} {t(lang, SKIP)}")
        return _fitted(lines, error is not None)
    elif step == "receipt":
        return "\n".join([*lines, t(lang, RECEIPT_QUESTION)])
    elif step == "secret":
        return "\n".join([*lines, t(lang, SECRET_QUESTION)])
    elif step == "pin":
        return "\n".join([*lines, t(lang, PIN_QUESTION)])
    elif step == "pin_again":
        return "\n".join([*lines, t(lang, PIN_AGAIN)])
    else:
        question = _QUESTIONS.get(step)
        if question:
            lines.append(t(lang, question))
    for i, (_value, label) in enumerate(_options(menu, state, step), 1):
        lines.append(f"{i} {label if step == 'lang' else t(lang, label)}")
    return _fitted(lines, error is not None)


def _fitted(lines: list[str], noted: bool) -> str:
    """The screen; when a note on a wrong answer makes it too long, the note replaces the
    question (the options stay)."""
    text = "\n".join(lines)
    if noted and not fits(text) and len(lines) > 2:
        return "\n".join([lines[0], *lines[2:]])
    return text


_QUESTIONS: dict[Step, str] = {
    "role": ROLE_QUESTION, "contact": CONTACT_QUESTION, "when": WHEN_QUESTION,
    "confirm": CONFIRM_QUESTION, "notice": NOTICE_QUESTION,
    "new_secret": NEW_SECRET_QUESTION, **dict(CONSENT_QUESTIONS)}


def _finish(menu: Menu, state: _State) -> Outcome:
    a = state.answers
    contact = a.get("contact") is True
    needs = a.get("needs")
    role, region, when = a.get("role"), a.get("region"), a.get("when")
    return Submit(
        lang=_lang(menu, state),
        role=role if isinstance(role, str) else None,
        needs=tuple(str(n) for n in needs) if isinstance(needs, tuple) else (),
        region=region if isinstance(region, str) else None,
        consent={str(name): a.get(name) is True for name, _ in CONSENT_QUESTIONS} | {
            "contact": contact},
        call_back=(when if isinstance(when, str) else "any time") if contact else None)
