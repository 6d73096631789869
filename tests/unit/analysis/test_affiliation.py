"""Perpetrator affiliation (issue 17): the rules' candidates, the armed-group lists, the
learned arbiter, and its training with the shipped and the node's adapted model."""

from __future__ import annotations

import numpy as np
import pytest

from node.analysis import adapted, affiliation, lexicon, shipped_model
from node.analysis import suggest as s
from node.analysis.case_suggestions import example_of
from node.analysis.gazetteer import parse_groups
from node.analysis.model import Example, Model
from node.analysis.textnorm import normalise
from protocol.vocabulary import AFFILIATIONS


def decide(text: str, model: affiliation.AffiliationModel | None = None,
           groups: str | None = None) -> affiliation.Decision:
    norm = normalise(text)
    return affiliation.decide(lexicon.find(norm, text), text, model,
                              parse_groups(groups) if groups else None, norm)


def test_the_shipped_model_decides_the_main_affiliation_by_the_rules() -> None:
    # round 5: the rules beat the learned arbiter in cross-validation (shipped_model.py)
    assert not shipped_model.SHIPPED_ARBITER
    assert s.shipped_model().affiliation is None
    # an arbiter trained from enough confirmed affiliations covers every code it was shown
    arbiter = affiliation.train(_rows(40))
    assert arbiter is not None and set(arbiter.labels) <= set(AFFILIATIONS)


@pytest.mark.parametrize(("text", "code"), [
    ("Two blue helmets raped a girl near the base.", "peacekeepers"),
    ("un casque bleu m'a forcée derrière le camp", "peacekeepers"),
    ("men in uniform came at night and raped me", "state_forces"),
    ("des hommes en uniforme sont venus et l'un d'eux m'a violée", "state_forces"),
    ("Soldiers of the national army raped twelve women in the village.", "state_forces"),
    ("the rebels took me to the bush and raped me", "non_state_armed_group"),
    ("Houthi fighters raped women held at the checkpoint.", "non_state_armed_group"),
    ("our neighbour raped me when my husband was away", "civilian"),
    ("sijui walikuwa akina nani, walikuja usiku wakanibaka", "unknown"),
    ("Unidentified armed men raped two girls on the road to the market.", "unknown"),
])
def test_the_main_affiliation_across_languages(text: str, code: str) -> None:
    assert s.suggest(text, with_entities=False).perpetrator_affiliation == code


def test_a_neighbour_beside_the_act_is_a_witness_not_the_perpetrator() -> None:
    out = s.suggest("the soldiers raped her in front of the neighbours", with_entities=False)
    assert out.perpetrator_affiliation == "state_forces"


def test_the_nodes_group_list_wins_over_the_lexicon() -> None:
    # the lexicon reads "Wagner" as state forces; a node that codes it otherwise is followed
    text = "Men of the Wagner group raped women in the gold mine."
    assert decide(text).main == "state_forces"
    listed = decide(text, s.shipped_model().affiliation,
                    "name,affiliation,aliases\nWagner group,militia,\n")
    assert listed.main == "militia"
    assert any(h.phrase == "Wagner group" for h in listed.evidence)


def test_a_group_only_the_node_lists_is_found() -> None:
    text = "The Lion Brigade raped three women at the river."
    assert decide(text, s.shipped_model().affiliation).main != "militia"
    out = s.suggest(text, groups=parse_groups("name,affiliation,aliases\n"
                                               "Lion Brigade,militia,Brigade du Lion\n"))
    assert out.perpetrator_affiliation == "militia"
    assert any(e.suggestion == "militia" and e.phrase == "Lion Brigade" for e in out.evidence)


def test_evidence_names_the_perpetrators_phrase() -> None:
    text = "Witnesses said soldiers of the national army raped women during the attack."
    out = s.suggest(text, with_entities=False)
    spans = [e for e in out.evidence if e.suggestion == "state_forces"]
    assert spans and all(text[e.start:e.end] == e.phrase for e in spans)


def test_an_affiliation_the_text_does_not_name_is_a_weak_suggestion() -> None:
    out = s.suggest("in the cell they stripped me and touched my private parts",
                    with_entities=False)
    assert out.perpetrator_affiliation == "state_forces"
    assert out.confidence["perpetrator_affiliation"] <= affiliation.IMPLIED_CAP


def _rows(n: int) -> list[tuple[np.ndarray, str | None]]:
    soldiers = "the soldiers raped me"
    nobody = "he raped me in the night"
    rows = []
    for i in range(n):
        text, label = (soldiers, "militia") if i % 2 else (nobody, "unknown")
        norm = normalise(text)
        hits = lexicon.find(norm, text)
        rows.append((affiliation.feature_vector(
            affiliation.candidates(hits, text, None, norm), hits, norm.text), label))
    return rows


def test_the_arbiter_decides_and_the_rules_only_propose() -> None:
    # an arbiter taught that the soldiers of this node's reports are a militia says so; the
    # evidence is still the phrase that names them
    model = affiliation.train(_rows(40))
    assert model is not None
    out = decide("the soldiers raped my sister", model)
    assert out.main == "militia"
    assert [h.phrase for h in out.evidence] == ["soldier"]  # the lexicon's stem
    assert decide("the soldiers raped my sister").main == "state_forces"  # the rules alone


def test_too_few_or_one_affiliation_trains_no_arbiter() -> None:
    assert affiliation.train(_rows(affiliation.MIN_EXAMPLES - 1)) is None
    assert affiliation.train([(v, "unknown") for v, _ in _rows(40)]) is None


def test_the_arbiter_travels_inside_the_model_bytes() -> None:
    shipped = s.shipped_model()
    with_arbiter = Model(shipped.labels, shipped.weights, shipped.bias, shipped.thresholds,
                         shipped.meta, affiliation.train(_rows(40)))
    again = Model.from_bytes(with_arbiter.to_bytes())
    assert again.affiliation is not None and with_arbiter.affiliation is not None
    assert again.affiliation.labels == with_arbiter.affiliation.labels
    assert np.allclose(again.affiliation.weights, with_arbiter.affiliation.weights, atol=1e-6)
    assert Model.from_bytes(shipped.to_bytes()).affiliation is None
    bad = affiliation.AffiliationModel.from_bytes
    with pytest.raises(ValueError):
        bad(Model(("is_crsv",), np.zeros((1, 4), np.float32), np.zeros(1)).to_bytes())


def test_an_accepted_affiliation_becomes_the_examples_label() -> None:
    ex = example_of("the soldiers raped me", {"is_crsv": "accepted",
                                              "affiliation:state_forces": "accepted",
                                              "affiliation:civilian": "rejected"})
    assert ex is not None and ex.affiliation == "state_forces"
    edited = example_of("the soldiers raped me", {"is_crsv": "accepted",
                                                  "affiliation:state_forces": "edited"})
    assert edited is not None and edited.affiliation is None


def test_the_adapted_model_trains_its_own_arbiter_or_decides_as_the_shipped_one() -> None:
    few = [("the soldiers raped me", True, ("rape",), "state_forces"),
           ("they burned the houses", False, (), None)]
    model = Model.from_bytes(adapted._train_bytes(few)[1])
    # too few confirmed affiliations: the rules decide, as in the shipped model
    assert model.affiliation is None and s.shipped_model().affiliation is None
    texts = ["the soldiers raped me at the checkpoint", "the rebels raped me in the bush"]
    many = [(f"{texts[i % 2]} ({i})", True, ("rape",),
             ("state_forces", "non_state_armed_group")[i % 2]) for i in range(40)]
    own = Model.from_bytes(adapted._train_bytes(many)[1]).affiliation
    assert own is not None and own.labels == ("state_forces", "non_state_armed_group")


def test_an_example_keeps_its_affiliation_sealed() -> None:
    from crypto.keys import BoxSecretKey
    key = BoxSecretKey.generate()
    example = Example("the soldiers raped me", True, frozenset({"rape"}), "state_forces")
    blob = adapted._example_ct(key.public_key, "r-1", example)
    assert b"state_forces" not in blob
    assert adapted._open_example(key, "r-1", blob) == example


@pytest.mark.parametrize(("text", "code"), [
    # round 5: parties of the Secretary-General's annexes and the state forces the reports
    # name, in the languages they occur in
    ("Elements of the APCLS raped two women in Masisi.", "non_state_armed_group"),
    ("Des membres présumés de la FRPI ont violé une fille à Djugu.", "non_state_armed_group"),
    ("Men affiliated with the Gran Grif gang raped eleven women.", "non_state_armed_group"),
    ("Des membres du G9 ont violé des femmes à Brooklyn.", "non_state_armed_group"),
    ("Hombres vinculados al Estado Mayor Central violaron a dos adolescentes.",
     "non_state_armed_group"),
    ("Предполагаемые члены группировки «Аш-Шабааб» изнасиловали девушку.",
     "non_state_armed_group"),
    ("Members of the Syrian National Army raped a Kurdish woman in Afrin.",
     "non_state_armed_group"),
    ("Fighters of the Sudan Liberation Army raped women near Tawila.", "non_state_armed_group"),
    ("Combatants raped the women in the camp.", "non_state_armed_group"),
    ("Mai Mai Kifuafua elements raped three women.", "non_state_armed_group"),
    ("Wanamgambo wa ADF waliwabaka wanawake.", "non_state_armed_group"),
    ("Soldiers of the South Sudan People's Defence Forces raped women.", "state_forces"),
    ("Rwanda Defence Force soldiers raped a woman near Sake.", "state_forces"),
    ("Представители російських збройних сил зґвалтували жінку.", "state_forces"),
    ("Военнослужащие российских вооружённых сил изнасиловали женщину.", "state_forces"),
    ("Wanajeshi wa kulinda amani wa Umoja wa Afrika waliwabaka wanawake.", "peacekeepers"),
    ("Members of the Civilian Joint Task Force raped displaced women.", "militia"),
    ("Armed youth raped a girl on her way to the borehole.", "militia"),
    ("Des miliciens Wazalendo ont violé deux déplacées.", "militia"),
    # round 6: state forces named by acronym, by the number of their unit, by rank alone, by
    # service (intelligence, prison); fighters of a named militia
    ("Members of the 42nd brigade raped two women at the checkpoint.", "state_forces"),
    ("Une femme a été violée par des éléments du BIR à Kolofata.", "state_forces"),
    ("Des viols imputés à des militaires du 12e bataillon ont été signalés.", "state_forces"),
    ("Custodios del sistema penitenciario sometieron a las presas a desnudez forzada.",
     "state_forces"),
    ("Agentes do Serviço de Informação e Segurança do Estado violaram uma detida.",
     "state_forces"),
    ("تعرضت امرأة للاغتصاب على يد أفراد من حرس الحدود.", "state_forces"),
    ("اغتصبها جنود من الكتيبة 15 التابعة للقوات المسلحة.", "state_forces"),
    ("Її зґвалтував сержант російського підрозділу.", "state_forces"),
    ("Женщину изнасиловали военнослужащие 126-й бригады.", "state_forces"),
    ("Afisa wa Idara ya Taifa ya Ujasusi alimbaka mfungwa.", "state_forces"),
    ("Une adolescente a été violée par des agents de la PNH.", "state_forces"),
    ("Fighters of the Wazalendo militia raped a woman in Sake.", "militia"),
    ("Бойовики проросійського ополчення зґвалтували жінку.", "militia"),
])
def test_the_rules_name_the_parties_units_ranks_and_services(text: str, code: str) -> None:
    assert decide(text).main == code


def test_prisoners_of_war_are_victims_not_soldiers() -> None:
    # "військовополонені" and "военнопленные" contain the word for military
    text = ("Місія зафіксувала 85 випадків сексуального насильства проти цивільних і "
            "військовополонених.")
    assert decide(text).main == "unknown"


@pytest.mark.parametrize("text", [
    "A woman said militias raped her. The mission found that most rapes were committed by "
    "the Rapid Support Forces.",
    "Une femme a déclaré avoir été violée par des miliciens. La plupart des viols ont été "
    "commis par les Forces de soutien rapide.",
    "قالت امرأة إن ميليشيات اغتصبتها. وخلص التحقيق إلى أن معظم أعمال الاغتصاب ارتكبتها "
    "قوات الدعم السريع.",
])
def test_the_group_most_acts_are_attributed_to_is_the_main(text: str) -> None:
    assert decide(text).main == "non_state_armed_group"


def test_french_dont_does_not_deny_the_group_it_introduces() -> None:
    text = ("Le BCNUDH a vérifié 125 cas de violences sexuelles, dont 33 imputés au M23 et "
            "21 à des militaires.")
    found = affiliation.candidates(lexicon.find(normalise(text), text), text)
    assert "non_state_armed_group" in {m.concept for m in found.mentions}


@pytest.mark.parametrize("text", [
    "Armed men entered the camp at night and raped four women. The victims recognised the "
    "attackers as M23 combatants.",
    "Homens armados entraram no campo e violaram quatro mulheres. As vítimas reconheceram os "
    "atacantes como combatentes do M23.",
    "Watu wenye silaha waliwabaka wanawake watatu. Manusura walisema washambuliaji hao "
    "walijitambulisha kuwa wapiganaji wa ADF.",
    "قالت ناجيات إن مسلحين يرتدون زي قوات الدعم السريع اغتصبوا خمس نساء قرب الجنينة.",
])
def test_the_group_the_attackers_are_identified_as_is_the_main(text: str) -> None:
    assert decide(text).main == "non_state_armed_group"


@pytest.mark.parametrize(("text", "code"), [
    # round 7: the grey zone, by the data card's rules (issue 17)
    ("Detainees said Security Belt Forces guards raped them in Aden.", "militia"),
    ("Members of the pro-government National Defence Forces raped women at a checkpoint.",
     "militia"),
    ("Soldiers of the Ethiopian National Defence Force raped women in Tigray.", "state_forces"),
    ("Sexual violence attributed to Fano fighters was reported in North Gondar.", "militia"),
    ("Armed men belonging to the Popular Mobilization Forces raped a woman.", "militia"),
    ("Homens armados pertencentes ao Al-Shabaab violaram raparigas.", "non_state_armed_group"),
    ("Бойовики ПВК «Вагнер» зґвалтували двох жінок.", "state_forces"),
    ("Члени банди «400 Мавозо» зґвалтували жінок.", "non_state_armed_group"),
    ("Сотрудники «МГБ ДНР» изнасиловали задержанную женщину.", "non_state_armed_group"),
    ("مسلحين ينتمون إلى أحد فصائل الحشد الشعبي اغتصبوا امرأة", "militia"),
    ("عناصر من قوات الحزام الأمني اغتصبوا محتجزين في عدن", "militia"),
    ("The court found that a commander of the Lord's Resistance Army raped girls.",
     "non_state_armed_group"),
])
def test_the_grey_zone_between_the_codes(text: str, code: str) -> None:
    assert decide(text).main == code


@pytest.mark.parametrize(("text", "code"), [
    ("военнослужащие так называемой «Народной милиции ЛНР» изнасиловали женщину",
     "non_state_armed_group"),
    ("Des éléments des groupes d'autodéfense Wazalendo ont violé trois femmes.", "militia"),
    ("Kata'ib Hezbollah fighters raped her at the checkpoint.", "militia"),
])
def test_de_facto_forces_and_allied_groups(text: str, code: str) -> None:
    # round 7: DPR/LPR formations before 2022 are armed groups; PMF factions and the
    # Wazalendo self-defence groups are militias (the data card's rules)
    assert decide(text).main == code
