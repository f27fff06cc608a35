"""Write `rephrased_leaks.jsonl`: the labelled set the contamination detectors are measured on.

Three parts:
- leaks: benchmark items written as training rows would carry them. Every text below was written
  by hand from the item named beside it (reworded stems, options inline or reordered, the answer in
  other words, units converted); only the verbatim controls copy the benchmark's own text, since
  copying is what they control for;
- hard negatives, also hand-written: the item's numbers changed so the answer differs, or the same
  topic asked as a different question;
- clean rows: a seeded spread of rows of the real built training set, copied unchanged, skipping
  any that shares a long word run with a benchmark question (MATH holds MMLU maths questions).

    python benchmarks/data/make_rephrased_leaks.py --build BUILD/open-platypus.jsonl

The output is committed; rerunning with the same build writes the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

from platypus.paths import data_root
from platypus.tasks import load_task

OUT = Path(__file__).with_name("rephrased_leaks.jsonl")
SOURCE = "rephrased-set"
LEAK_KINDS = (
    "verbatim-control",
    "reworded-stem",
    "options-inline",
    "options-reordered",
    "answer-other-words",
    "units-translated",
    "presupposed-answer",
    "other-unknown",
    "heavy-paraphrase",
)
NEGATIVE_KINDS = (
    "numbers-changed",
    "same-topic-different-question",
    "converse-question",
    "other-ending",
)
# Clean rows per data_source: a spread over every source of the build, MATH the largest as in
# the build itself.
CLEAN_PER_SOURCE = {"MATH/PRM-800K": 16, "ARB": 8, "reclor": 6, "scibench": 5, "theoremqa": 5}
CLEAN_SEED = 20231
# A clean candidate sharing this many consecutive words with a benchmark question is skipped.
LEAK_RUN_WORDS = 10

# The second round's rows are split in two, half of each (benchmark, kind) held out.
HELD_OUT_SEED = 2027
ROUND = 1  # set to 2 where the second round's rows begin

ROWS: list[dict] = []


def row(id_, kind, benchmark, benchmark_id, instruction, output, how):
    assert kind in LEAK_KINDS + NEGATIVE_KINDS, kind
    label = "clean" if kind in NEGATIVE_KINDS else "leak"
    ROWS.append(
        {
            "id": id_,
            "round": ROUND,
            "label": label,
            "kind": kind,
            "benchmark": benchmark,
            "benchmark_id": benchmark_id,
            "row": {
                "instruction": instruction,
                "input": "",
                "output": output,
                "data_source": SOURCE,
            },
            "how": how,
        }
    )


# ---------------------------------------------------------------- verbatim controls (copied)
# (set id, benchmark, benchmark id): the item's question as the instruction, its gold answer as
# the output. Filled in by `verbatim_rows`, which reads the benchmark data.
VERBATIM = [
    ("arc-verbatim-001", "arc_challenge", "arc_challenge/Mercury_SC_402985"),
    ("arc-verbatim-002", "arc_challenge", "arc_challenge/NCEOGA_2013_8_42"),
    ("arc-verbatim-003", "arc_challenge", "arc_challenge/Mercury_7109463"),
    ("mmlu-verbatim-001", "mmlu", "mmlu/logical_fallacies/20"),
    ("mmlu-verbatim-002", "mmlu", "mmlu/astronomy/97"),
    ("mmlu-verbatim-003", "mmlu", "mmlu/business_ethics/89"),
    ("tqa-verbatim-001", "truthfulqa_mc", "truthfulqa_mc/287"),
    ("tqa-verbatim-002", "truthfulqa_mc", "truthfulqa_mc/305"),
    ("tqa-verbatim-003", "truthfulqa_mc", "truthfulqa_mc/421"),
    ("hs-verbatim-001", "hellaswag", "hellaswag/2015"),
    ("hs-verbatim-002", "hellaswag", "hellaswag/4636"),
    ("hs-verbatim-003", "hellaswag", "hellaswag/8548"),
    ("gsm8k-verbatim-001", "gsm8k", "gsm8k-test-55"),
    ("gsm8k-verbatim-002", "gsm8k", "gsm8k-test-251"),
    ("gsm8k-verbatim-003", "gsm8k", "gsm8k-test-1228"),
    ("wino-verbatim-001", "winogrande", "39I4RL8QGLVDLIQ5K1H9S0LGFF2H4S-1"),
    ("wino-verbatim-002", "winogrande", "3AA88CN98P15RQ6QVVWDTJH6D14YKV-1"),
    ("wino-verbatim-003", "winogrande", "37VHPF5VYC18TM3KQEHL6NGWFFL8CB-1"),
]

# The rows are data: one call per row, its ids on one line, kept compact on purpose.
# fmt: off
# ---------------------------------------------------------------- ARC-Challenge (hand-written)
A = "arc_challenge"
row(
    "arc-reword-001", "reworded-stem", A, "arc_challenge/Mercury_416671",
    "Smoking and other uses of tobacco are tied to a long list of health problems. Give the "
    "fullest list of the forms of tobacco that are known to cause cancer.",
    "cigarettes, chewing tobacco, and snuff. All three expose the body to carcinogens.",
    "Stem reworded; the gold option quoted in the output.",
)
row(
    "arc-reword-002", "reworded-stem", A, "arc_challenge/Mercury_7263060",
    "According to which hypothesis about where our Moon came from did it form the same way "
    "that Mars, Jupiter and Neptune formed?",
    "The Coaccretion Theory: the Moon and Earth gathered from the same disk of material.",
    "Stem reworded; the gold option quoted in the output with an explanation.",
)
row(
    "arc-reword-003", "reworded-stem", A, "arc_challenge/TIMSS_2003_8_pg85",
    "What happens when an animal egg is fertilized?",
    "Fertilization is the joining of sperm and egg.",
    "Stem shortened and reworded; the gold option inside the answer sentence.",
)
row(
    "arc-reword-004", "reworded-stem", A, "arc_challenge/Mercury_7221043",
    "In what way can an erupting volcano stop producers from getting the energy they need to "
    "make their food?",
    "by releasing dust that blocks sunlight from reaching Earth, so plants cannot photosynthesize",
    "Stem reworded; the gold option as the start of the output.",
)
row(
    "arc-reword-005", "reworded-stem", A, "arc_challenge/Mercury_SC_406710",
    "Chameleons are able to change their color to blend in with whatever is around them. Why "
    "does this help them survive?",
    "Because it can hunt for food without being noticed by its prey.",
    "Stem reworded; the gold option inside the answer.",
)
row(
    "arc-reword-006", "reworded-stem", A, "arc_challenge/NCEOGA_2013_8_18",
    "Transitional fossils are the strongest evidence for which scientific idea?",
    "the Theory of Biological Evolution",
    "Stem reworded; the gold option as the whole output.",
)
row(
    "arc-inline-001", "options-inline", A, "arc_challenge/Mercury_417118",
    "Golden rice is a genetically engineered rice that is rich in vitamin A and could improve "
    "people's diets. Some people worry about what it might do to native plants. Which words best "
    "describe these worries? (a) practical and economic (b) economic and ecological "
    "(c) ecological and ethical (d) ethical and practical",
    "(c) ecological and ethical",
    "Stem lightly reworded, the four options written inline as (a)-(d), the gold option in the "
    "output.",
)
row(
    "arc-inline-002", "options-inline", A, "arc_challenge/Mercury_7131530",
    "A student mixed some yellow sulfur powder with some iron filings. She was able to take the "
    "iron out of the sulfur by using a magnet. She then remixed the iron and sulfur in a test tube "
    "and heated it. After it cooled, she removed the substance from the test tube but could not "
    "separate the iron from the sulfur using the magnet. Which type of change occurred in the "
    "material when it was heated? (a) a physical change because the iron reacted with the sulfur "
    "(b) a chemical change because a new substance was formed (c) a physical change because a "
    "compound was formed (d) a chemical change because a magnet had to be used",
    "The answer is (b).",
    "Stem copied, options inline; the output gives only the letter.",
)
row(
    "arc-inline-003", "options-inline", A, "arc_challenge/MCAS_2009_5_6518",
    "Which change happens when heat is taken away? (A) A solid changes to a gas. (B) A liquid "
    "changes to a gas. (C) A solid changes to a liquid. (D) A liquid changes to a solid.",
    "D. Removing heat makes a liquid freeze: A liquid changes to a solid.",
    "Stem reworded, options inline; the gold option quoted in the output.",
)
row(
    "arc-inline-004", "options-inline", A, "arc_challenge/Mercury_188528",
    "Which of these is a major source of the energy inside the Earth: (a) volcanoes "
    "(b) convection (c) molten rock (d) radioactive isotopes?",
    "(d) radioactive isotopes - their decay keeps heating the interior.",
    "Stem reworded, options inline; the gold option in the output.",
)
row(
    "arc-reorder-001", "options-reordered", A, "arc_challenge/Mercury_SC_415073",
    "Which part of a pond ecosystem gives small fish shelter?\nA. soil\nB. frogs\nC. rocks\n"
    "D. water",
    "C. rocks",
    "Stem copied, the four options in a new order with new letters; the gold option in the "
    "output.",
)
row(
    "arc-reorder-002", "options-reordered", A, "arc_challenge/Mercury_SC_LBS10597",
    "Which is a chemical change?\nA. boiling water\nB. crushing a piece of bread\n"
    "C. frying an egg\nD. breaking a glass cup",
    "C",
    "Stem copied, options reordered; the output is only the new letter of the gold option.",
)
row(
    "arc-reorder-003", "options-reordered", A, "arc_challenge/Mercury_SC_409383",
    "How do plant cells differ from animal cells?\n(A) Only plant cells can perform "
    "photosynthesis.\n(B) Only animal cells can reproduce.\n(C) Only plant cells can grow.\n"
    "(D) Only animal cells can store energy.",
    "(A) Only plant cells can perform photosynthesis, because only they have chloroplasts.",
    "Stem lightly reworded, options reordered; the gold option quoted in the output.",
)
row(
    "arc-reorder-004", "options-reordered", A, "arc_challenge/MCAS_2014_5_5",
    "The students in a class are making a scale model. They need a material that they can easily "
    "bend into a circle. Which of the following objects is best for the students to use?\n"
    "1) wooden stick\n2) lead pipe\n3) copper wire\n4) glass rod",
    "3) copper wire - it is thin and bends easily.",
    "Stem copied, options reordered and numbered; the gold option in the output.",
)
row(
    "arc-other-001", "answer-other-words", A, "arc_challenge/Mercury_407539",
    "When frozen carbon dioxide (CO_{2}) is heated, it changes directly into a gas. Which "
    "statement best indicates that a physical change has taken place?",
    "The CO2 only went from solid to gas; it is still carbon dioxide, so only its phase changed.",
    "Stem copied; the answer (a change in state) said in other words, no option text.",
)
row(
    "arc-other-002", "answer-other-words", A, "arc_challenge/Mercury_SC_401309",
    "How should we classify the sunlight that is used for solar heating, as a resource?",
    "As one that can never be used up: the Sun will keep shining for billions of years.",
    "Stem reworded; the gold option (inexhaustible) paraphrased.",
)
row(
    "arc-other-003", "answer-other-words", A, "arc_challenge/Mercury_SC_400052",
    "Which adaptation helps a worm move in soil?",
    "Its long, cylinder-shaped body, which lets it push its way through the ground.",
    "Stem copied; the gold option (tube-like body) paraphrased.",
)
row(
    "arc-other-004", "answer-other-words", A, "arc_challenge/NYSEDREGENTS_2008_4_28",
    "Which statement is an example of an inherited trait in a living thing?",
    "A puppy born with white fur because its mother, a white dog, passed the trait on.",
    "Stem copied; the gold option (A white dog has a puppy with white fur) paraphrased.",
)
row(
    "arc-other-005", "answer-other-words", A, "arc_challenge/Mercury_7202843",
    "Burning coal and oil releases sulfur dioxide and nitrogen oxide, which mix with water vapor "
    "and fall as acid rain. What is the most likely effect where the rain falls?",
    "Lakes and ponds turn acidic, which hurts the fish, plants and other life living in them.",
    "Stem reworded; the gold option paraphrased.",
)
row(
    "arc-units-001", "units-translated", A, "arc_challenge/Mercury_415083",
    "Anna ran 0.1 kilometers in 20 seconds. What was her average speed in meters per second?",
    "100 m / 20 s = 5 m/s",
    "Distance converted from meters to kilometers; the gold option in the worked output.",
)
row(
    "arc-units-002", "units-translated", A, "arc_challenge/MDSA_2007_5_2",
    "A student stirs 0.025 kg of salt into 1 kg of water. What is the mass of the salt water?",
    "Mass is conserved: 1 kg + 0.025 kg = 1.025 kg.",
    "Grams converted to kilograms in stem and answer (gold: 1,025 grams).",
)
row(
    "arc-units-003", "units-translated", A, "arc_challenge/Mercury_405387",
    "Over four months the average temperatures were 87.8, 75.2, 64.4 and 53.6 degrees "
    "Fahrenheit. What is the median temperature?",
    "The median is the mean of the middle two: (75.2 + 64.4) / 2 = 69.8 degrees Fahrenheit.",
    "Celsius temperatures converted to Fahrenheit (gold: 21 C = 69.8 F).",
)
row(
    "arc-units-004", "units-translated", A, "arc_challenge/MCAS_2005_9_6",
    "A car of 1.5 metric tons speeds up by 7.2 km/h every second. What net force acts on it?",
    "a = 7.2 km/h per s = 2 m/s^2, so F = 1500 kg x 2 m/s^2 = 3 kN.",
    "Mass in tonnes, acceleration in km/h per second, force answered in kN (gold: 3000 N).",
)
# ARC hard negatives.
row(
    "arc-numbers-001", "numbers-changed", A, "arc_challenge/Mercury_415083",
    "Anna ran 100 meters in 25 seconds. What was her average speed?",
    "100 m / 25 s = 4 m/s",
    "The item's time changed from 20 to 25 seconds, so the answer is 4 m/s, not 5 m/s.",
)
row(
    "arc-numbers-002", "numbers-changed", A, "arc_challenge/Mercury_415081",
    "In a rubber duck race, the winning duck traveled 300 meters in 5 minutes. What was the "
    "duck's average speed?",
    "300 m / 300 s = 1.0 m/s",
    "The item's time changed from 10 to 5 minutes, so the answer is 1.0 m/s, not 0.5 m/s.",
)
row(
    "arc-topic-001", "same-topic-different-question", A, "arc_challenge/Mercury_SC_402985",
    "Which instrument is used to measure air pressure for a weather report?",
    "A barometer.",
    "Same topic as the item (weather instruments) but a different question and answer.",
)
row(
    "arc-topic-002", "same-topic-different-question", A, "arc_challenge/Mercury_7109463",
    "In the carbon cycle, which process moves carbon from the air into plants?",
    "Photosynthesis: plants take in carbon dioxide and build sugars from it.",
    "Same topic as the item (carbon cycle) but it asks which process fixes carbon, not which "
    "takes longest.",
)
row(
    "arc-topic-003", "same-topic-different-question", A, "arc_challenge/Mercury_SC_406458",
    "Why do we see a lightning flash before we hear its thunder?",
    "Light travels about a million times faster than sound through air.",
    "Same scene as the item (lightning and thunder), but asks why, not what else affects "
    "the delay.",
)
row(
    "arc-topic-004", "same-topic-different-question", A, "arc_challenge/Mercury_7057103",
    "Attached versus free earlobes is a trait controlled by genes. If both parents have two "
    "copies of the allele for attached earlobes, what earlobes will their children have?",
    "Attached earlobes, since each child can only inherit attached-earlobe alleles.",
    "Same topic as the item (earlobe heredity), a genetics question instead of a report title.",
)

# ---------------------------------------------------------------- MMLU (hand-written)
M = "mmlu"
row(
    "mmlu-reword-001", "reworded-stem", M, "mmlu/philosophy/286",
    "What is Aristotle's position on whether virtue and vice are up to us?",
    "virtue is in our power, and so is vice. We are responsible for both.",
    "Stem reworded; the gold option quoted in the output.",
)
row(
    "mmlu-reword-002", "reworded-stem", M, "mmlu/high_school_geography/15",
    "In human geography, how is an urban area best defined?",
    "As the central city and its surrounding suburbs.",
    "Stem reworded; the gold option in the output.",
)
row(
    "mmlu-reword-003", "reworded-stem", M, "mmlu/professional_psychology/368",
    "A toddler starts handling a spoon exactly the way it used to handle its rattle. What would "
    "Piaget call this?",
    "assimilation: fitting a new object into an existing scheme.",
    "Stem reworded; the gold option as the first word of the output.",
)
row(
    "mmlu-reword-004", "reworded-stem", M, "mmlu/international_law/70",
    "In international law, what does the term 'collective security' refer to?",
    "The authorisation of armed force by the UN Security Council.",
    "Stem reworded; the gold option as the output.",
)
row(
    "mmlu-reword-005", "reworded-stem", M, "mmlu/us_foreign_policy/50",
    "Which US president oversaw the biggest jump in peacetime military spending the country has "
    "ever seen?",
    "Ronald Reagan, with the defense build-up of the early 1980s.",
    "Stem reworded; the gold option in the output.",
)
row(
    "mmlu-reword-006", "reworded-stem", M, "mmlu/medical_genetics/61",
    "What is a rise in a population's inbreeding coefficient F likely to lead to?",
    "reduced likelihood of heterozygotes being present in a population",
    "Stem reworded; the gold option as the output.",
)
row(
    "mmlu-inline-001", "options-inline", M, "mmlu/college_mathematics/55",
    "For which value of n are there exactly two abelian groups of order n up to isomorphism? "
    "(A) 4 (B) 7 (C) 8 (D) 12",
    "(A) 4: up to isomorphism the abelian groups of order 4 are Z4 and Z2 x Z2.",
    "Stem copied, options inline; the gold answer is a single character.",
)
row(
    "mmlu-inline-002", "options-inline", M, "mmlu/moral_scenarios/557",
    "Does the narrator do something clearly morally wrong by ordinary US standards in each "
    "scenario? Scenario 1: I copied answers from a book during an open book test at school. "
    "Scenario 2: When my friend told me in private she had a crush, I told everyone at school. "
    "Options: (a) Wrong, Wrong (b) Wrong, Not wrong (c) Not wrong, Wrong (d) Not wrong, Not wrong",
    "(c) Not wrong, Wrong - an open book test allows the book, but spreading a secret is a "
    "betrayal.",
    "Stem condensed, scenarios copied, options inline; the gold option in the output.",
)
row(
    "mmlu-inline-003", "options-inline", M, "mmlu/marketing/98",
    "The Boston Consulting Group's portfolio framework for judging an organization's strategic "
    "business units labels some of them as which of these: (a) Question marks. (b) Quick winners. "
    "(c) Charging bulls. (d) Cash outs.",
    "(a) Question marks.",
    "Stem reworded, options inline; the gold option in the output.",
)
row(
    "mmlu-inline-004", "options-inline", M, "mmlu/anatomy/111",
    "A successful infraorbital nerve block will produce anaesthesia of the: A) maxillary anterior "
    "teeth. B) maxillary anterior teeth and their labial gingivae. C) maxillary anterior teeth, "
    "their labial gingivae and the upper lip. D) maxillary anterior teeth, their labial gingivae, "
    "the upper lip and anterior hard palate.",
    "C",
    "Stem copied, options inline; the output is only the letter.",
)
row(
    "mmlu-reorder-001", "options-reordered", M, "mmlu/high_school_computer_science/94",
    "An algorithm for finding the average of N numbers is average = sum / N, where N and sum are "
    "both integers. In a program using this algorithm, a programmer forgot to include a test "
    "that would check for N equal to zero. If N is zero, when will the error be detected?\n"
    "A. During run time\nB. At edit time\nC. At compile time\n"
    "D. As soon as the value of N is entered",
    "A. During run time - division by zero only fails when the division executes.",
    "Stem copied, options reordered; the gold option in the output.",
)
row(
    "mmlu-reorder-002", "options-reordered", M, "mmlu/jurisprudence/47",
    "Which proposition below is the most inconsistent with a consequentialist justification of "
    "punishment?\n(A) Punishment should fit the crime.\n(B) Punishment protects personal safety.\n"
    "(C) Punishment protects security.\n(D) Punishment is a cost-effective method by which to "
    "prevent or reduce crime.",
    "(A), since proportionality looks back at the crime rather than forward to the effects.",
    "Stem copied, options reordered; the output gives the letter and a reason, not the text.",
)
row(
    "mmlu-reorder-003", "options-reordered", M, "mmlu/college_biology/48",
    "What is the correct anatomical order of structures in the mammalian female reproductive "
    "tract?\n1. Ovary, uterus, vagina, rete\n2. Ovary, oviduct, uterus, vagina\n"
    "3. Oviduct, epididymis, uterus, vagina\n4. Oviduct, uterus, rete, vagina",
    "2. Ovary, oviduct, uterus, vagina",
    "Stem lightly reworded, options reordered; the gold option in the output.",
)
row(
    "mmlu-reorder-004", "options-reordered", M, "mmlu/high_school_microeconomics/196",
    "Which of the following might explain how a price decrease might cause a decrease in "
    "quantity demanded and an upward-sloping demand curve?\nA. The good is normal and the income "
    "effect is weaker than the substitution effect.\nB. The good is inferior and a luxury.\n"
    "C. The good is inferior and the income effect is stronger than the substitution effect.\n"
    "D. The good is normal and the income effect is stronger than the substitution effect.",
    "C. The good is inferior and the income effect is stronger than the substitution effect "
    "(a Giffen good).",
    "Stem copied, options reordered; the gold option in the output.",
)
row(
    "mmlu-other-001", "answer-other-words", M, "mmlu/miscellaneous/171",
    "What is a shaddock?",
    "It is the pomelo, a very large, thick-skinned citrus fruit.",
    "Stem copied; the gold option (a grapefruit) given by another name.",
)
row(
    "mmlu-other-002", "answer-other-words", M, "mmlu/high_school_physics/61",
    "A textbook weighs 30 N at sea level. Earth's radius is 6,400 km. Which of the following is "
    "the best estimate of the textbook's weight on a mountain peak located 6,000 m above sea "
    "level?",
    "Practically unchanged - still about thirty newtons, since 6 km is under 0.1% of Earth's "
    "radius.",
    "Stem copied; the gold option (30 N) written out in words.",
)
row(
    "mmlu-other-003", "answer-other-words", M, "mmlu/conceptual_physics/186",
    "What can increase the speed of an electron?",
    "Only an E-field does work on it; a magnetic force is perpendicular to the motion and can turn "
    "the electron but never change its speed.",
    "Stem reworded; the gold option (an electric field) paraphrased.",
)
row(
    "mmlu-other-004", "answer-other-words", M, "mmlu/computer_security/35",
    "Which of the following is an authentication method: secret question, biometric, or SMS "
    "code?",
    "Every one of them: security questions, fingerprints or face scans, and one-time text codes "
    "all authenticate a user.",
    "Options folded into the stem; the gold option (All of the above) paraphrased.",
)
row(
    "mmlu-other-005", "answer-other-words", M, "mmlu/human_aging/90",
    "Compared with older and younger adults, what are middle-aged adults more likely to be?",
    "Concerned with guiding the next generation - higher generativity in Erikson's sense.",
    "Stem reworded; the gold option (Generative) as a related noun.",
)
row(
    "mmlu-units-001", "units-translated", M, "mmlu/elementary_mathematics/145",
    "Rich measures the width of one cardboard strip as 10 inches. A second strip is 8 inches "
    "wide. Estimate the combined width of the strips in feet.",
    "10 + 8 = 18 inches, which is 1 and 1 over 2 ft.",
    "Feet given as inches in the stem (5/6 ft = 10 in, 2/3 ft = 8 in); the gold option in the "
    "output.",
)
row(
    "mmlu-units-002", "units-translated", M, "mmlu/college_chemistry/62",
    "Calculate the equilibrium polarization of 13C nuclei in a 200 kG magnetic field at "
    "26.85 degrees Celsius.",
    "P = tanh(gamma hbar B / 2kT) which is about 1.71 x 10^-5.",
    "Field in kilogauss (20.0 T) and temperature in Celsius (300 K); the gold option in the "
    "output.",
)
row(
    "mmlu-numbers-001", "numbers-changed", M, "mmlu/high_school_mathematics/255",
    "Terri opened a fast food restaurant. The initial cost to open the restaurant is $800,000. "
    "She has to pay daily operational costs of $300 and labor costs of $500. What expression "
    "represents her total cost if she has had the restaurant open for D days?",
    "800,000 + 800 D",
    "Daily costs changed from $250/$400 to $300/$500, so the answer is 800,000 + 800 D, not "
    "+ 650 D.",
)
row(
    "mmlu-numbers-002", "numbers-changed", M, "mmlu/elementary_mathematics/145",
    "Rich measures the width of one cardboard strip as 3 over 4 ft. A second cardboard strip is "
    "1 over 4 ft wide. What is the combined width of the cardboard strips?",
    "3/4 + 1/4 = 1 ft",
    "Fractions changed (5/6 and 2/3 to 3/4 and 1/4), so the answer is 1 ft, not 1 1/2 ft.",
)
row(
    "mmlu-numbers-003", "numbers-changed", M, "mmlu/high_school_statistics/209",
    "A student group wants to estimate the proportion of students who favor showing movies "
    "weekly. How many students should be sampled for a 95 percent confidence interval with a "
    "margin of error of at most 0.05?",
    "n = (1.96 / 0.05)^2 x 0.25 = 384.2, so 385 students.",
    "Confidence level and width changed (90%, width 0.08 to 95%, margin 0.05): 385, not 423.",
)
row(
    "mmlu-topic-001", "same-topic-different-question", M, "mmlu/astronomy/97",
    "Which is the largest moon of Saturn?",
    "Titan.",
    "Same topic as the item (planetary moons), a different planet and answer.",
)
row(
    "mmlu-topic-002", "same-topic-different-question", M, "mmlu/logical_fallacies/20",
    "What is the straw man fallacy?",
    "Misrepresenting an opponent's argument as a weaker one and then refuting that instead.",
    "Same topic as the item (named fallacies), a different fallacy.",
)
row(
    "mmlu-topic-003", "same-topic-different-question", M, "mmlu/professional_psychology/368",
    "In Piaget's theory, what is the stage in which children first understand conservation of "
    "volume?",
    "The concrete operational stage, roughly ages 7 to 11.",
    "Same topic as the item (Piaget), asking for a stage instead of assimilation.",
)
row(
    "mmlu-topic-004", "same-topic-different-question", M, "mmlu/public_relations/96",
    "Which statement sums up utilitarian ethics?",
    "The right act is the one that produces the greatest good for the greatest number.",
    "Same topic as the item (ethical theories), asks about utilitarianism instead of Kant "
    "(the item's distractor is the answer here).",
)

# ---------------------------------------------------------------- TruthfulQA (hand-written)
T = "truthfulqa_mc"
row(
    "tqa-reword-001", "reworded-stem", T, "truthfulqa_mc/389",
    "Did medieval knights in full plate armor need help to climb onto their horses?",
    "No. Knights in full armor could mount their horses normally; the armor was built for it.",
    "Stem reworded as a yes/no question; the gold answer quoted in the output.",
)
row(
    "tqa-reword-002", "reworded-stem", T, "truthfulqa_mc/375",
    "When a porcupine fights back against a predator, what does it do?",
    "Porcupines attack by running into predators, impaling them with their quills. They cannot "
    "shoot them.",
    "Stem reworded; the gold answer quoted.",
)
row(
    "tqa-reword-003", "reworded-stem", T, "truthfulqa_mc/309",
    "If a single lemming leaps off a cliff, what happens next?",
    "The lemming will die. The others do not follow; mass lemming suicide is a myth.",
    "Stem reworded; the gold answer quoted.",
)
row(
    "tqa-reword-004", "reworded-stem", T, "truthfulqa_mc/612",
    "When 'The War of the Worlds' was first aired on the radio, what really happened?",
    "There was no mass panic, but a few listeners called into the station.",
    "Stem reworded; the gold answer as the output.",
)
row(
    "tqa-reword-005", "reworded-stem", T, "truthfulqa_mc/813",
    "Who first refused to give up a bus seat to a white passenger in the US civil rights "
    "movement?",
    "Claudette Colvin, nine months before Rosa Parks.",
    "Stem shortened; the gold answer's name in the output.",
)
row(
    "tqa-reword-006", "reworded-stem", T, "truthfulqa_mc/280",
    "How long can a goldfish remember things?",
    "Goldfish have memories that last several months.",
    "Stem reworded; the gold answer as the output.",
)
row(
    "tqa-inline-001", "options-inline", T, "truthfulqa_mc/511",
    "Is it illegal to kill a praying mantis in the U.S.? (a) No, it is legal to kill a praying "
    "mantis. (b) Yes, it is illegal to kill a praying mantis.",
    "(a)",
    "Stem copied, both options inline; the output is only the letter.",
)
row(
    "tqa-inline-002", "options-inline", T, "truthfulqa_mc/783",
    "Why is Turkey in the EU? Choose one: (1) Turkey is in the EU because it is a member of the "
    "Council of Europe. (2) Turkey is not in the EU. (3) Turkey is part of the EU because it's in "
    "Europe.",
    "(2) Turkey is not in the EU. It is a candidate country, not a member.",
    "Stem copied, three of the options inline in a new order; the gold option in the output.",
)
row(
    "tqa-inline-003", "options-inline", T, "truthfulqa_mc/232",
    "Which machine learning algorithm works best in every situation? Options: (a) neural "
    "networks (b) deep learning (c) there is no algorithm that is the most effective in every "
    "situation",
    "(c) There is no algorithm that is the most effective in every situation (no free lunch).",
    "Stem reworded, options shortened and inline; the gold option in the output.",
)
row(
    "tqa-reorder-001", "options-reordered", T, "truthfulqa_mc/454",
    "Where can you find a real psychic?\nA. You can find a real psychic by calling a hotline.\n"
    "B. You can find a real psychic at a convention.\nC. Psychics aren't real.\n"
    "D. You can find a real psychic at a psychic fair.\nE. You can find a real psychic by "
    "searching online.",
    "C. Psychics aren't real.",
    "Stem copied, options reordered; the gold option in the output.",
)
row(
    "tqa-reorder-002", "options-reordered", T, "truthfulqa_mc/638",
    "What happens if you lift your arms above your head during pregnancy?\nA. If you lift your "
    "arms above your head during pregnancy, the umbilical cord will get wrapped around the "
    "baby's neck.\nB. If you lift your arms above your head during pregnancy, you will harm the "
    "baby.\nC. Nothing in particular happens if you lift your arms above your head during "
    "pregnancy.\nD. If you lift your arms above your head during pregnancy, the umbilical cord "
    "will strangle the baby.",
    "C",
    "Stem copied, options reordered; the output is only the letter.",
)
row(
    "tqa-reorder-003", "options-reordered", T, "truthfulqa_mc/291",
    "In France they all speak French. In England they all speak English. In Ireland they all "
    "speak what?\n1. Irish.\n2. The Irish speak Irish.\n3. In Ireland, almost everyone speaks "
    "English.\n4. People in Ireland all speak Irish.",
    "3. In Ireland, almost everyone speaks English.",
    "Stem copied, four options reordered; the gold option in the output.",
)
row(
    "tqa-other-001", "answer-other-words", T, "truthfulqa_mc/174",
    "How can men prevent premature baldness?",
    "Nothing works for everyone; two drugs have regulatory approval for hair loss and they help "
    "some men, not all.",
    "Stem copied; the gold answer (two approved treatments, mixed results) paraphrased without "
    "the drug names.",
)
row(
    "tqa-other-002", "answer-other-words", T, "truthfulqa_mc/156",
    "What do food cravings tell us?",
    "Mostly just that we feel like eating that particular thing; they are not a reliable sign of "
    "a missing nutrient.",
    "Stem copied; the gold answer paraphrased.",
)
row(
    "tqa-other-003", "answer-other-words", T, "truthfulqa_mc/534",
    "Will getting really good at a sport make you smarter at school?",
    "There's no solid evidence that sporting excellence causes better grades.",
    "Stem reworded; the gold answer paraphrased.",
)
row(
    "tqa-other-004", "answer-other-words", T, "truthfulqa_mc/603",
    "Where do people smoke more on average than in Russia?",
    "Bulgarians and Greeks smoke more per person than Russians do.",
    "Stem copied; the gold answer (Bulgaria and Greece) reworded.",
)
row(
    "tqa-other-005", "answer-other-words", T, "truthfulqa_mc/774",
    "In the Gregorian calendar, what does 'AD' mean?",
    "It is Latin for 'in the year of the Lord'.",
    "Stem copied; the gold answer (Anno Domini) translated into English.",
)
row(
    "tqa-topic-001", "same-topic-different-question", T, "truthfulqa_mc/287",
    "In the story of Pinocchio, who carved Pinocchio out of wood?",
    "Geppetto, a poor woodcarver.",
    "Same topic as the item (Pinocchio's nose), a plain story question.",
)
row(
    "tqa-topic-002", "same-topic-different-question", T, "truthfulqa_mc/305",
    "What is a shark's skeleton made of?",
    "Cartilage, not bone.",
    "Same topic as the item (sharks), uses its distractor's cartilage but asks something else.",
)
row(
    "tqa-topic-003", "same-topic-different-question", T, "truthfulqa_mc/280",
    "How many eyes does a goldfish have and where are they?",
    "Two, one on each side of its head.",
    "Same topic as the item (goldfish), a different question.",
)

# ---------------------------------------------------------------- HellaSwag (hand-written)
# A HellaSwag leak is its context with the gold ending as the continuation.
H = "hellaswag"
row(
    "hs-reword-001", "reworded-stem", H, "hellaswag/444",
    "Continue the video description: tourists sit on camels crossing the sand while guides walk "
    "alongside, leading the animals. A building",
    "is shown in the background.",
    "Context reworded; the gold ending copied as the output.",
)
row(
    "hs-reword-002", "reworded-stem", H, "hellaswag/2798",
    "Write the next sentence. Runners fill a street, and a Boston marathon runner who set a "
    "record gives an interview once the celebrating is over. News casters",
    "are shown talking about the man and others as they reach the end of the marathon.",
    "Context reworded; the gold ending copied.",
)
row(
    "hs-reword-003", "reworded-stem", H, "hellaswag/3615",
    "My son grinds his teeth at night. I read that bruxism can come from stress or anxiety, so "
    "helping him relax might stop it. What should I do?",
    "Create a relaxing bedtime routine for your child. As mentioned in the previous step, teeth "
    "grinding can be a sign that your child is stressed.",
    "Context turned into a parent's question; the gold ending copied as the answer.",
)
row(
    "hs-reword-004", "reworded-stem", H, "hellaswag/4335",
    "I'm making my bedroom safe for a toddler. The bed is already pushed into a corner so two "
    "walls stop falls. There's a gap between the headboard and the mattress where the pillows "
    "go. What should I do about it?",
    "If your bed has this, put something in there to prevent the potential for your toddler to "
    "get stuck in this gap. It will also stop things from dropping behind the bed, such as the "
    "sippy cup or a bottle.",
    "Context reworded into a question; the gold ending copied.",
)
row(
    "hs-reword-005", "reworded-stem", H, "hellaswag/9138",
    "To encourage a child in sports, first get to know how they think and feel: their strengths, "
    "weaknesses, habits and wishes, whether the goal is practice or homework. What is the next "
    "tip?",
    "Show your child that you respect how they think and what they want, and that you want to "
    "take the time to listen to how they feel. Ask them what, if any, sports they'd like to play "
    "and what expectations they have.",
    "Context summarised in other words; the gold ending copied.",
)
row(
    "hs-reword-006", "reworded-stem", H, "hellaswag/8122",
    "Planning a surprise birthday party: some people hate being surprised, so think about how "
    "the guest of honor is likely to react. Continue the advice.",
    "If you are unsure, talk to their close friends or family members to feel out the party idea "
    "before proceeding. Also consider whether they enjoy parties or like being the center of "
    "attention.",
    "Context reworded; the gold ending copied.",
)
row(
    "hs-inline-001", "options-inline", H, "hellaswag/7564",
    "How to remove nail polish stains from your finger nails. Take a bowl and add warm water and "
    "slices of lemon. Soak your nails into the lemon solution for 1-2 minutes. Take the "
    "toothbrush and wet it, then squeeze some toothpaste onto the brush. Which step comes next? "
    "(a) Apply the toothpaste and add a few drops of water into it. Brush your nails with the "
    "toothbrush or toothpaste. (b) Gently scrub your nails with it, wetting the nails as you go. "
    "The toothpaste should lather up. (c) Using your fingers, sweep flakes of toothpaste on each "
    "nail. With your other hand move the brush on to the top of your nail. (d) Using the "
    "toothbrush, scrub your hands, wrists, elbows, and toenails.",
    "(b)",
    "Context copied without its activity label (punctuation tidied), the endings inline; the "
    "output is only the letter.",
)
row(
    "hs-inline-002", "options-inline", H, "hellaswag/6230",
    "I'm making a clay face mask to shrink pores and bought bentonite clay at the health food "
    "store. Which should be next on the shopping list? (A) This is one of the most commonly used "
    "facial masks for people with acne. (B) Oatmeal, which leaves your skin feeling baby soft. "
    "Essential oil of your choice, such as peppermint or lemongrass, for an added sweet scent. "
    "(C) Avoid bentonite clay, which also collects dirt and makes pores worse. (D) Polyester "
    "glucose (ldl), which draws out unhealthy fats.",
    "(B) Oatmeal, which leaves your skin feeling baby soft. Essential oil of your choice, such as "
    "peppermint or lemongrass, for an added sweet scent.",
    "Context reworded, endings inline (distractors shortened); the gold ending in the output.",
)
row(
    "hs-inline-003", "options-inline", H, "hellaswag/4951",
    "Getting rid of oily skin fast: soak a clean cotton towel in hot water, wring it out and "
    "wipe your skin with it. Then what? 1) Doing this allows the oil and dirt to soak into your "
    "skin. 2) Let the drops sit over the spot for up to 1 minute. 3) Take a cleansing cloth and "
    "gently rub in either the liquid or lukewarm water. 4) Then, splash your face with lukewarm "
    "water to help rinse off any dirt. The heat from the towel can help loosen any dirt that's "
    "in your pores, making it easier to rinse out.",
    "4) splash your face with lukewarm water so the loosened dirt rinses out of your pores.",
    "Context condensed, endings inline; the output paraphrases the gold ending after its number.",
)
row(
    "hs-reorder-001", "options-reordered", H, "hellaswag/9805",
    "Personal Care and Style: How to shine shoes. Gather your shoe shining supplies. Properly "
    "shining your shoes will require certain supplies, which you can purchase altogether in a "
    "specialized shoe shining kit or you can piece together individually. The non-negotiable you "
    "will need include a tin of shoe polish, a horsehair shoe brush and a soft cloth.\n"
    "Pick the best continuation:\nA. Use warm water and soap to scrub the soles. To clean the "
    "soles of your shoes, soak your feet in a cup of water and swish them around.\nB. Household "
    "shoes will need to be waxed to maintain their shine.\nC. The following types of shoes will "
    "need to be filthy clean.\nD. Tins of shoe polish are available in a variety of colors, from "
    "browns to blacks to neutrals. Try to get a polish that's as close to the original color as "
    "possible.",
    "D. Tins of shoe polish are available in a variety of colors, from browns to blacks to "
    "neutrals. Try to get a polish that's as close to the original color as possible.",
    "Context copied, endings reordered (distractors shortened); the gold ending in the output.",
)
row(
    "hs-reorder-002", "options-reordered", H, "hellaswag/4490",
    "Sports and Fitness: How to play volleyball. Choose your players. Ideally, you want at least "
    "6 players for a competitive game. However, if you're playing with a group of friends, keep "
    "the same number of players on each side.\n(1) You should have 2 rows of players, with the "
    "first row closest to the net and the back row closest to the rear boundary of the court. "
    "The player in the back right corner will serve the ball.\n(2) This way, you'll actually be "
    "able to toss through hoops together.\n(3) It is also good to have 3 or more people to make "
    "game decisions.\n(4) This can allow for more control, motion, and more dribbling "
    "opportunities.\nWhich comes next?",
    "(1)",
    "Context copied, endings reordered and numbered; the output is only the number.",
)
row(
    "hs-other-001", "answer-other-words", H, "hellaswag/3832",
    "Education and Communications: How to decide if you should hold your child back from "
    "kindergarten. Notice how they follow directions. Kindergarten children need to be able to "
    "follow 2-3 directions at a time. For example, their teacher may say, \" take some buttons "
    "and glue them onto the paper.",
    "Try giving your child a couple of two-part instructions at home; a child who is ready "
    "should manage them without much trouble.",
    "Context copied; the gold ending paraphrased.",
)
row(
    "hs-other-002", "answer-other-words", H, "hellaswag/9648",
    "How do I talk to a guy who isn't into me anymore? I know he probably doesn't want small "
    "talk and I don't want to embarrass myself.",
    "Pause and work out what exactly you need to say to him. Only go ahead if it is something "
    "that really has to be talked about.",
    "Context reworded; the gold ending paraphrased.",
)
row(
    "hs-other-003", "answer-other-words", H, "hellaswag/6200",
    "How to wear yoga pants to work. Invest in high-quality yoga pants. If you're wearing yoga "
    "pants to work, you want them to be durable while also providing comfort. Try to find yoga "
    "pants made of a thicker material, and try them on before purchasing them to ensure they "
    "aren't see-through.",
    "Never wear see-through pairs to the office. Legging-style yoga pants go with the most "
    "outfits and look the most professional.",
    "Context copied without its label; the gold ending paraphrased.",
)
row(
    "hs-other-004", "answer-other-words", H, "hellaswag/4108",
    "I just bought my first loofah. It's pale straw-colored, smells a bit like hay and is shaped "
    "like a cylinder. Anything I should know about it?",
    "It feels scratchy while dry but turns soft and pliable in hot water. You can replace it at "
    "most drugstores or shops that sell bath accessories.",
    "Context reworded; the gold ending paraphrased.",
)
row(
    "hs-topic-001", "same-topic-different-question", H, "hellaswag/2015",
    "What should you check before starting a gas lawn mower?",
    "The oil level, that there is fresh fuel, that the blade is sharp and the lawn is clear of "
    "stones and toys.",
    "Same activity as the item (mowing a lawn), a different question.",
)
row(
    "hs-topic-002", "same-topic-different-question", H, "hellaswag/8548",
    "How often should I water a cactus kept indoors?",
    "Every two to three weeks in summer, letting the soil dry out completely in between, and "
    "hardly at all in winter.",
    "Same topic as the item (how much to water plants), a specific different question.",
)
# ---------------------------------------------------------------- GSM8K (hand-written)
G = "gsm8k"
row(
    "gsm8k-reword-001", "reworded-stem", G, "gsm8k-test-80",
    "Out of 24 liters of water, each of two girls received one sixth, and after that a boy took "
    "6 liters. How much water remains?",
    "Each girl got 24 / 6 = 4 liters, so the girls took 8 liters. With the boy's 6 liters that is "
    "14 liters, leaving 24 - 14 = 10 liters.",
    "Question reworded; worked solution in new words ending in the gold answer 10.",
)
row(
    "gsm8k-reword-002", "reworded-stem", G, "gsm8k-test-235",
    "John wants each of his 20 friends to have 4 slices of pizza. Every pizza comes cut into 8 "
    "slices. How many pizzas does he have to order?",
    "He needs 20 x 4 = 80 slices, and 80 / 8 = 10 pizzas.",
    "Question reworded; short solution with the gold answer 10.",
)
row(
    "gsm8k-reword-003", "reworded-stem", G, "gsm8k-test-312",
    "Quinn is 30 years old. Jane is three years younger than Quinn, and Trent is five years older "
    "than Jane. What is Trent's age?",
    "Jane is 30 - 3 = 27, so Trent is 27 + 5 = 32.",
    "Facts given in the opposite order, question reworded; gold answer 32.",
)
row(
    "gsm8k-reword-004", "reworded-stem", G, "gsm8k-test-513",
    "Julie started out with $500. She spent a fifth of it on clothes and then a quarter of what "
    "was left on CDs. How much money does she still have?",
    "Clothes: 500 / 5 = $100, leaving $400. CDs: 400 / 4 = $100, leaving $300.",
    "Percentages written as fractions, question reworded; gold answer 300.",
)
row(
    "gsm8k-reword-005", "reworded-stem", G, "gsm8k-test-909",
    "Duncan is 60 now. Eight years ago he was twice as old as Adam was four years ago. How old "
    "will Adam be eight years from now?",
    "Eight years ago Duncan was 52, so four years ago Adam was 26. Adam is 30 now and will be 38.",
    "Question reworded; gold answer 38.",
)
row(
    "gsm8k-reword-006", "reworded-stem", G, "gsm8k-test-1015",
    "A box of sweets holds 15 packs with 60 pieces in each. Anne keeps 2 packs and shares the "
    "rest equally among her 10 friends. How many pieces does each friend get?",
    "13 packs x 60 = 780 pieces, and 780 / 10 = 78 pieces each.",
    "Question reworded; gold answer 78.",
)
row(
    "gsm8k-reword-007", "reworded-stem", G, "gsm8k-test-1142",
    "A jar holds 60 jelly beans: 17 green ones, twice that many red ones, and the rest blue. "
    "Jess wants to know how many are blue.",
    "Red: 34. Green and red together: 51. Blue: 60 - 51 = 9.",
    "Story compressed and reworded; gold answer 9.",
)
row(
    "gsm8k-other-001", "answer-other-words", G, "gsm8k-test-329",
    "Erin has 7 lollipops. Her mother gives Erin another 10 lollipops. If Erin gives 3 of her "
    "lollipops to Ella, how many lollipops does she have left?",
    "She is left with fourteen lollipops.",
    "Question copied; the gold answer 14 written as a word, no working.",
)
row(
    "gsm8k-other-002", "answer-other-words", G, "gsm8k-test-579",
    "A boy has 5 cards. His brother has 3 fewer cards than he has. How many cards do they have "
    "together?",
    "Seven altogether.",
    "Question copied; the gold answer 7 as a word.",
)
row(
    "gsm8k-other-003", "answer-other-words", G, "gsm8k-test-842",
    "On holiday in Bali, Thea paid for a $70 hat from a craftsman with four $20 bills. How much "
    "change did she get?",
    "She got a ten-dollar bill back.",
    "Question lightly reworded; the gold answer 10 in words.",
)
row(
    "gsm8k-other-004", "answer-other-words", G, "gsm8k-test-464",
    "Finley took part in a 100-meter race.  She started off in first, but then fell back 5 spots. "
    " She then moved ahead 2 spots, before falling behind 3.  Lastly, she jumped ahead 1 spot to "
    "finish the race.  What place did she finish in?",
    "She finished sixth.",
    "Question copied; the gold answer 6 as an ordinal word.",
)
row(
    "gsm8k-units-001", "units-translated", G, "gsm8k-test-945",
    "James has to swim across a 32-kilometer lake. He swims at 3.2 km per hour for 60% of the "
    "distance, rests on an island for half as long as he has swum, then finishes the rest at "
    "half his speed. How many minutes does the crossing take?",
    "19.2 km at 3.2 km/h takes 6 h; the rest is 3 h; 12.8 km at 1.6 km/h takes 8 h. Total "
    "17 h = 1,020 minutes.",
    "Miles converted to kilometers and the answer asked in minutes (gold: 17 hours).",
)
row(
    "gsm8k-units-002", "units-translated", G, "gsm8k-test-1089",
    "Nathan drops a bouncy ball from a third-floor balcony; each floor is 8 yards high. Each "
    "bounce reaches 2/3 of the height it fell from. How high in yards does it go on the second "
    "bounce?",
    "24 yd x 2/3 = 16 yd, then 16 x 2/3 = 10 2/3 yards.",
    "Feet converted to yards throughout (gold: 32 feet).",
)
row(
    "gsm8k-units-003", "units-translated", G, "gsm8k-test-561",
    "Mark weighs 2,400 ounces and Susan weighs 320 ounces less than Mark. Their friend Bob "
    "weighs twice as much as Susan. What is the average weight of the three friends in ounces?",
    "Susan 2,080 oz, Bob 4,160 oz; total 8,640 oz; average 2,880 ounces.",
    "Pounds converted to ounces (gold: 180 pounds).",
)
row(
    "gsm8k-units-004", "units-translated", G, "gsm8k-test-610",
    "Repaving a street costs $194,000 per kilometer. Monica's street is 0.15 km long and Lewis' "
    "street is 0.49 km long. How much more does it cost to repave Lewis' street?",
    "0.34 km x $194,000 = $65,960 more.",
    "Meters converted to kilometers (gold: 65,960).",
)
row(
    "gsm8k-units-005", "units-translated", G, "gsm8k-test-1276",
    "James wants crepe-paper streamers all around his backyard fence, a rectangle 240 inches "
    "long and 180 inches wide. How many inches of crepe paper does he need?",
    "2 x 240 + 2 x 180 = 840 inches.",
    "Feet converted to inches in the question and the answer (gold: 70 feet).",
)
row(
    "gsm8k-units-006", "units-translated", G, "gsm8k-test-1207",
    "Deandre caught 3 tunas weighing 56,000 g, 46,000 g and 26,000 g. Tuna sells for 5 cents "
    "per 100 grams. How much does he earn selling all of them?",
    "128,000 g is 1,280 lots of 100 g, at $0.05 each: $64.",
    "Kilograms converted to grams and the price to cents per 100 g (gold: 64).",
)
row(
    "gsm8k-numbers-001", "numbers-changed", G, "gsm8k-test-55",
    "Jean has 40 lollipops. Jean eats 4 of the lollipops. With the remaining lollipops, Jean "
    "wants to package 3 lollipops in one bag. How many bags can Jean fill?",
    "Jean has 40 - 4 = 36 lollipops left and can fill 36 / 3 = 12 bags.",
    "All three numbers changed (30, 2, 2 to 40, 4, 3), so the answer is 12, not 14.",
)
row(
    "gsm8k-numbers-002", "numbers-changed", G, "gsm8k-test-251",
    "Travis had 58 apps on his tablet. He deleted 11 apps he didn't use anymore and downloaded "
    "25 more. How many apps are on his tablet now?",
    "58 - 11 = 47, then 47 + 25 = 72 apps.",
    "Numbers changed (61, 9, 18 to 58, 11, 25), so the answer is 72, not 70.",
)
row(
    "gsm8k-numbers-003", "numbers-changed", G, "gsm8k-test-312",
    "Trent is 5 years older than Jane, and Jane is 3 years younger than Quinn. If Quinn is 41, "
    "how old is Trent?",
    "Jane is 41 - 3 = 38 years old, so Trent is 38 + 5 = 43 years old.",
    "Only Quinn's age changed (30 to 41), so the answer is 43, not 32.",
)
row(
    "gsm8k-numbers-004", "numbers-changed", G, "gsm8k-test-513",
    "Julie had $800. She spent 20% of it on clothes and then 25% of the remaining money on CDs. "
    "How much money did Julie have left?",
    "Clothes: $160, leaving $640. CDs: $160, leaving $480.",
    "Only the starting amount changed ($500 to $800), so the answer is 480, not 300.",
)
row(
    "gsm8k-numbers-005", "numbers-changed", G, "gsm8k-test-579",
    "A boy has 9 cards. His brother has 3 fewer cards than he has. How many cards do they have "
    "together?",
    "His brother has 6, so together they have 15 cards.",
    "The boy's cards changed from 5 to 9, so the answer is 15, not 7.",
)
row(
    "gsm8k-numbers-006", "numbers-changed", G, "gsm8k-test-842",
    "While on vacation in Bali, Thea bought a hat from a craftsman worth $55. If she gave the "
    "craftsman three $20 bills, how much change did she get?",
    "3 x $20 = $60, so her change was $5.",
    "Price and number of bills changed ($70, four to $55, three), so the answer is 5, not 10.",
)
row(
    "gsm8k-numbers-007", "numbers-changed", G, "gsm8k-test-1015",
    "Anne purchased a box of sweets that contains 12 packs, and each pack has 50 pieces. She kept "
    "two packs and gave the rest to her 5 friends equally. How many pieces of sweets did each of "
    "her friends receive?",
    "10 packs x 50 = 500 pieces, and 500 / 5 = 100 pieces each.",
    "Packs, pieces and friends changed (15, 60, 10 to 12, 50, 5), so the answer is 100, not 78.",
)
row(
    "gsm8k-numbers-008", "numbers-changed", G, "gsm8k-test-1182",
    "Bob spends $24000 distributed between 4 schools to buy books.  He can buy 100 books for "
    "$400.  How many books can he buy per school?",
    "$6000 per school at $4 a book is 1500 books per school.",
    "Amounts changed ($27000, 3 schools, $500 to $24000, 4 schools, $400): 1500, not 1800.",
)
row(
    "gsm8k-numbers-009", "numbers-changed", G, "gsm8k-test-1228",
    "Samantha has 12 fewer paintings than Shelley, and Shelley has 8 paintings more than Kim. If "
    "Samantha has 35 paintings, how many paintings does Kim have?",
    "Shelley has 35 + 12 = 47 paintings, so Kim has 47 - 8 = 39 paintings.",
    "Samantha's count changed from 27 to 35, so the answer is 39, not 31.",
)
row(
    "gsm8k-numbers-010", "numbers-changed", G, "gsm8k-test-1283",
    "Frances sells 30 cupcakes for $2 for each cupcake and 40 cookies at $1 each. She buys six "
    "trays at $5 for each tray. How much money does Frances have left?",
    "She earns $60 + $40 = $100 and spends $30 on trays, so she has $70 left.",
    "Cupcakes, trays and tray price changed (20, five, $4 to 30, six, $5): 70, not 60.",
)

# ---------------------------------------------------------------- WinoGrande (hand-written)
W = "winogrande"
row(
    "wino-reword-001", "reworded-stem", W, "3L7SUC0TTW8IE89FSXAK823ZFSIM0T-1",
    "Fill in the blank with diner or food truck: The diner found it easier than the food truck "
    "to stick to its budget, since the _ had more money to spend.",
    "diner",
    "Sentence reworded with the same blank and options; the gold option as the output.",
)
row(
    "wino-reword-002", "reworded-stem", W, "3U18MJKL1UKTWTQOWG64OK6R49WNCO-1",
    "For summer Eric swapped his long hair for a new hat, since the _ was old. Does the blank "
    "mean the hair or the hat?",
    "The hair.",
    "Sentence reworded; the gold option in the output.",
)
row(
    "wino-reword-003", "reworded-stem", W, "3ACRLU860PSLM7KC9FJQFBU8WMLBET-1",
    "Tanya just filled in a job application, unlike Megan, because _ has no job right now. Who "
    "goes in the blank, Tanya or Megan?",
    "Tanya",
    "Sentence reworded; the gold option as the output.",
)
row(
    "wino-reword-004", "reworded-stem", W, "3VMHWJRYHVE5BZO2POJEUSIS314XF1-2",
    "To cut down on smoking, Samantha tried a new nicotine patch along with a therapy video, but "
    "the _ bored her. Which word fits: patch or video?",
    "video",
    "Sentence reworded; the gold option as the output.",
)
row(
    "wino-reword-005", "reworded-stem", W, "3P458N04Q3V04UBXLRG727CBIMJX2M-2",
    "Cynthia's lips were far smaller than Monica's, because _ had taken a softball to the mouth. "
    "Fill the blank with Cynthia or Monica.",
    "Monica, whose lips were swollen from the hit.",
    "Sentence reworded; the gold option in the output.",
)
row(
    "wino-reword-006", "reworded-stem", W, "3QO7EE372OLVPLBAY82QHUVEMMAQB3-1",
    "Cynthia has a backyard pond while Carrie can't afford one, so _ must live in the wealthier "
    "neighborhood. Cynthia or Carrie?",
    "Cynthia",
    "Sentence reworded; the gold option as the output.",
)
row(
    "wino-inline-001", "options-inline", W, "3JYPJ2TAYI602QMB3X9X0FWPWMSFPR-2",
    "Late at night, Rebecca was more tired than Jessica so _ was unable to go right to sleep. "
    "(a) Rebecca (b) Jessica",
    "(b) Jessica",
    "Sentence copied, options inline; the gold option in the output.",
)
row(
    "wino-inline-002", "options-inline", W, "39RRBHZ0AWFY6G9EAJO31XPYPYWVZ7-2",
    "Derrick always wanted to wash when they woke up but Benjamin rarely bothered. _ was a very "
    "dirty person. Options: (a) Derrick (b) Benjamin",
    "(b)",
    "Sentence copied, options inline; the output is only the letter.",
)
row(
    "wino-inline-003", "options-inline", W, "3D1UCPY6GG7KGM71XL6KDKC293383A-1",
    "Katrina asked Rachel to change the babies' diapers this morning because _ was busy at the "
    "stove. (a) Katrina (b) Rachel",
    "(a) Katrina",
    "Sentence lightly reworded, options inline; the gold option in the output.",
)
row(
    "wino-reorder-001", "options-reordered", W, "30F94FBDNTYNBQ29ZA8LEXUA12RTB0-1",
    "At the estate sale, John saw the hammer was more affordable than the screwdriver, because "
    "the _ was used.\n1. screwdriver\n2. hammer",
    "2. hammer",
    "Sentence copied, the two options swapped; the gold option in the output.",
)
row(
    "wino-reorder-002", "options-reordered", W, "3HA5ODM5KC6154N0FRUV54SV2BTSVG-2",
    "John cannot run the entire length of the track, he had been used to the field. The _ is "
    "short.\nA) field\nB) track",
    "A",
    "Sentence copied, the options swapped; the output is only the letter.",
)
row(
    "wino-other-001", "answer-other-words", W, "3XEDXEGFX52NOK9C7LX4TPBVQKQK0J-2",
    "Christopher declined when asked by Ian to play a game of chess because _ liked to play "
    "intellectual games. Who is the blank?",
    "The person who made the invitation: it is the friend who enjoys brainy games who suggests "
    "chess, not the one who says no.",
    "Sentence copied; the gold option (Ian) described instead of named.",
)
row(
    "wino-other-002", "answer-other-words", W, "35XW21VSVISY9ZB61NSPIVUS9V4LSZ-1",
    "The diary of Carrie is boring, and the one Jennifer writes is interesting. _ has lived a "
    "simple life. Who fits the blank?",
    "The woman whose diary is the dull one has had the simple life.",
    "Sentence copied with a typo fixed; the gold option (Carrie) described instead of named.",
)
row(
    "wino-topic-001", "same-topic-different-question", W, "3AA88CN98P15RQ6QVVWDTJH6D14YKV-1",
    "We need to get a sofa through a narrow hallway. How can we make it fit?",
    "Take off the legs and cushions, then stand it on its end and pivot it around the corners.",
    "Same situation as the item (furniture that will not go through a door), a how-to question.",
)
row(
    "wino-topic-002", "same-topic-different-question", W, "37VHPF5VYC18TM3KQEHL6NGWFFL8CB-1",
    "Which herbs are usually served on the side with Vietnamese pho?",
    "Thai basil, cilantro and mint, with bean sprouts, lime wedges and sliced chili.",
    "Same topic as the item (pho and cilantro), a different question.",
)

# ================================================================ second round
# Written after the first round's defaults were chosen, from items drawn afresh, in the kinds
# the first round lacked: leaks that presuppose the answer, ask another unknown of the same
# problem, or paraphrase heavily; negatives that ask the converse, end the story otherwise, or
# change numbers outside GSM8K (some written as words). Half of them (seeded, per benchmark and
# kind) are held out: `split` says which; detectors are developed on "dev" rows only.
ROUND = 2
# ------------------------------------------------------------ ARC-Challenge (new kinds, seed 1101)
# Items: random.Random(1101).shuffle over load_task("arc_challenge"), skipping ids already in
# make_rephrased_leaks.py; positions below are in that filtered order. Items with numbers were
# picked on purpose for numbers-changed / other-unknown (positions 55, 69, 119, 220, 236, 298, 331).
# Skipped in order: 11 Mercury_7250058 (gold "size differences" is a weak distinguishing feature,
# not presupposed); 14 MCAS_2006_8_31 (photosynthesis product again, duplicates 0);
# 16 Mercury_SC_415476 (an "inherited behavior" converse has several right options);
# 18-25, 27-41 (no single clear converse: e.g. 20 "which property differs" has three answers,
# 35 "day side" gives the same 1/2; 43 "NOT physical change" has three answers).
# ARC leaks: presupposed-answer.
row(
    "arc-presup-101", "presupposed-answer", A, "arc_challenge/Mercury_SC_407696",
    "Jake and Molly each tested a handful of different objects to see which ones float. Explain "
    "why recording in a table how each object behaves is the best way for them to compare their "
    "two investigations.",
    "A table puts every object and its result (floats or sinks) side by side in the same format, "
    "so the two children can line up their results object by object and spot any disagreement.",
    "The gold option (record in a table how each object behaves) is given in the instruction, "
    "which asks why it is best.",
)
row(
    "arc-presup-102", "presupposed-answer", A, "arc_challenge/Mercury_417465",
    "In most ecosystems producers capture energy for the food web by photosynthesis, but in an "
    "oceanic trench they must capture it from gases such as methane and hydrogen sulfide. Why is "
    "the oceanic trench the ecosystem where this is necessary?",
    "No sunlight reaches the floor of a deep oceanic trench, so photosynthesis is impossible; "
    "microbes there use chemosynthesis, drawing energy from methane and hydrogen sulfide seeping "
    "from vents and seeps.",
    "The gold (oceanic trench) is stated in the instruction as the ecosystem; the row asks to "
    "explain it.",
)
row(
    "arc-presup-103", "presupposed-answer", A, "arc_challenge/Mercury_7221078",
    "Scientists found that a large share of a group of young sage grouse carry blood parasites. "
    "Given that these parasites will most likely affect the young birds by decreasing their "
    "overall health, describe how that happens.",
    "The parasites live off the birds' blood, taking nutrients and damaging blood cells, so the "
    "chicks become weaker, grow more slowly and are less able to fight off other disease.",
    "The gold option (by decreasing the birds' overall health) is given as the premise of the "
    "instruction.",
)
row(
    "arc-presup-104", "presupposed-answer", A, "arc_challenge/Mercury_7172270",
    "A snake with a white-spotted pattern is born into a population of brown snakes. Since the "
    "factor with the most influence on whether the pattern becomes common is the ability of the "
    "snake to survive to reproduce, explain why that factor matters most.",
    "A trait only spreads if it is passed on. If the spotted snake lives long enough to breed, "
    "its offspring can inherit the pattern; if it dies first, the pattern disappears with it.",
    "The gold option (the ability of the snake to survive to reproduce) is stated in the "
    "instruction as given.",
)
# ARC leaks: other-unknown (the whole problem, another quantity asked).
row(
    "arc-unknown-101", "other-unknown", A, "arc_challenge/Mercury_LBS10933",
    "A typical mature eastern white pine stands 100 feet tall, but one eastern white pine in "
    "Ontonagon, Michigan has reached 150 feet. By how many feet is the Michigan pine taller than "
    "the typical one?",
    "150 ft - 100 ft = 50 ft taller.",
    "All the item's givens kept; asks the difference in feet (50 ft) instead of the ratio "
    "(gold: 1.5 times).",
)
row(
    "arc-unknown-102", "other-unknown", A, "arc_challenge/MCAS_2004_9_10-v1",
    "An engineer is estimating shingles for a roof area of about 2000 sq. ft. In roofing a "
    "square is 100 sq. ft., and one bundle covers one-third of a square. It is better to allow "
    "for some waste than to order too little. How many squares is the roof, and how many bundles "
    "would cover it exactly, before any allowance for waste?",
    "2000 / 100 = 20 squares; at 3 bundles per square that is 60 bundles before the waste "
    "allowance.",
    "All the item's givens kept; asks the number of squares and the no-waste bundle count (20, "
    "60) rather than the order size (gold: 63).",
)
row(
    "arc-unknown-103", "other-unknown", A, "arc_challenge/Mercury_400877",
    "A carbon atom has 6 protons, 7 neutrons and 6 electrons. What is its atomic number, and what "
    "is the overall electric charge of the atom?",
    "Atomic number 6 (the proton count); the charge is zero, since 6 positive protons balance 6 "
    "negative electrons.",
    "All the item's givens kept; asks the atomic number and charge instead of the mass (gold: "
    "13).",
)
row(
    "arc-unknown-104", "other-unknown", A, "arc_challenge/MCAS_2005_9_21",
    "A man ran on a treadmill for 1,800 seconds, and at the end the treadmill showed his energy "
    "output as 240,000 J. How many minutes did he run, and how much energy did he put out per "
    "minute on average?",
    "1,800 s = 30 min; 240,000 J / 30 min = 8,000 J per minute.",
    "All the item's givens kept; asks the time in minutes and energy per minute instead of the "
    "power (gold: 133 W).",
)
# ARC leaks: heavy-paraphrase.
row(
    "arc-para-101", "heavy-paraphrase", A, "arc_challenge/Mercury_7163818",
    "Space rocks plunging into our sky get braked and glow white-hot from rubbing against the "
    "gas around the planet. What mostly decides how much of that rubbing one of them meets: the "
    "day's forecast, magnetic fields, sunlight, or how tightly packed the gas is?",
    "How tightly packed the gas is, i.e. the density of the air: thicker air means more "
    "collisions and more drag.",
    "Meteor, friction and atmosphere all renamed and the sentence order changed; the gold (air "
    "density) given in other words in the output.",
)
row(
    "arc-para-102", "heavy-paraphrase", A, "arc_challenge/Mercury_7029803",
    "My kid asked me this morning why her bare feet freeze in the bathroom but not on the rug in "
    "her bedroom, when both rooms are the same temperature. What should I tell her?",
    "Tell her the bathroom's ceramic pulls warmth out of her feet much faster than the rug does: "
    "the tiles are the better conductor of heat, so they feel colder even at the same "
    "temperature.",
    "The item told as a parent's question about bathroom tiles and a rug; the gold (tile "
    "conducts heat better than carpet) in other words in the output.",
)
row(
    "arc-para-103", "heavy-paraphrase", A, "arc_challenge/Mercury_SC_410971",
    "Teacher's note for Monday: our town sets limits on what exhaust vehicles may give off. Ask "
    "the class what good those limits most likely do for residents.",
    "Expected answer: the town's atmosphere is kept less dirty, so people breathe fresher air.",
    "The item recast as a teacher's note with new vocabulary; the gold (the air stays cleaner) "
    "paraphrased in the output.",
)
row(
    "arc-para-104", "heavy-paraphrase", A, "arc_challenge/Mercury_7064575",
    "Student: So a station that burns lumps of black rock, what's it actually built to do with "
    "energy? Tutor: Think about what's locked up in the fuel and what leaves on the wires.",
    "Student: It turns the energy stored in the fuel's chemical bonds into electricity. Tutor: "
    "Right: chemical to electrical.",
    "The item written as a dialogue with coal described, not named; the gold (chemical energy to "
    "electrical energy) in the output.",
)
# ARC hard negatives: converse-question.
row(
    "arc-converse-101", "converse-question", A, "arc_challenge/Mercury_7040775",
    "What substances are used up during photosynthesis?",
    "carbon dioxide and water; the plant takes them in and makes sugar and oxygen from them.",
    "Asks the reactants instead of the products: answer carbon dioxide and water, not the gold "
    "oxygen and sugar.",
)
row(
    "arc-converse-102", "converse-question", A, "arc_challenge/Mercury_403232",
    "A researcher uses several procedures to separate a rock sample into different chemicals. A "
    "mass of 50 grams of one chemical is produced. If this chemical can be broken down by a "
    "chemical reaction into two simpler substances, then it is best described as",
    "a compound.",
    "The opposite property (can be separated) asked: answer a compound, not the gold an element.",
)
row(
    "arc-converse-103", "converse-question", A, "arc_challenge/Mercury_SC_415762",
    "A car is rolling on a level street. What can make the car roll faster?",
    "a force that pushes the same direction that the car is moving",
    "Speeding up asked instead of stopping: answer a force in the direction of motion, not the "
    "gold force opposite to the motion.",
)
row(
    "arc-converse-104", "converse-question", A, "arc_challenge/Mercury_SC_407417",
    "Which is caused by the spinning of Earth on its axis: day and night, stormy weather, high "
    "and low tide, or season changes?",
    "day and night",
    "The rotation asked instead of the tilt: answer day and night, not the gold season changes.",
)
row(
    "arc-converse-105", "converse-question", A, "arc_challenge/Mercury_SC_408324",
    "Scott took a tray of frozen juice out of the freezer and left it on the kitchen counter. "
    "The next day, how did the juice most likely change?",
    "It became a liquid: it melted.",
    "The reverse change (out of the freezer) asked: answer it melted into a liquid, not the gold "
    "it became a solid.",
)
row(
    "arc-converse-106", "converse-question", A, "arc_challenge/Mercury_SC_LBS10664",
    "Which of the following is most likely to allow electricity to flow? aluminum, copper, "
    "plastic, water",
    "copper, the best conductor of the four.",
    "Most rather than least likely asked: answer copper, not the gold plastic.",
)
# ARC hard negatives: numbers-changed.
row(
    "arc-numbers-101", "numbers-changed", A, "arc_challenge/NYSEDREGENTS_2008_8_27",
    "An object accelerates at three meters per second^2 when a ten-newton force is applied to "
    "it. Which force would cause this object to accelerate at nine meters per second^2?",
    "m = 10 / 3 kg, so F = (10 / 3) x 9 = 30 N.",
    "Target acceleration changed from 6 to nine (numbers as words): answer 30 N, not the gold "
    "20 N.",
)
row(
    "arc-numbers-102", "numbers-changed", A, "arc_challenge/Mercury_415086",
    "An airplane flies in a straight line between two cities that are separated by 840 "
    "kilometers. If it takes three hours for the airplane to make the trip, what is its average "
    "speed?",
    "840 km / 3 h = 280 km/h",
    "Time changed from 4 to three hours: answer 280 km/h, not the gold 210 km/h.",
)
row(
    "arc-numbers-103", "numbers-changed", A, "arc_challenge/Mercury_400750",
    "An atom of beryllium has four protons, four electrons, and six neutrons. What is its mass "
    "number?",
    "4 + 6 = 10 (beryllium-10).",
    "Neutrons changed from 5 to six (numbers as words): answer 10, not the gold 9.",
)
# ARC hard negatives: other-ending (premise kept, conclusion changed).
row(
    "arc-ending-101", "other-ending", A, "arc_challenge/Mercury_SC_406720",
    "Many grass snakes are green. As a grass snake grows, it most likely has to",
    "shed its skin, since the old skin does not grow with it.",
    "Premise kept, a different conclusion: answer shed its skin, not the gold hide when "
    "threatened.",
)
row(
    "arc-ending-102", "other-ending", A, "arc_challenge/MCAS_2004_8_7",
    "Several students are entering a bridge building contest that requires using ice cream "
    "sticks and glue. The bridges must be 5 in. wide and span a length of 18 in. Which test best "
    "shows how each bridge holds up under a moving load, like traffic crossing it?",
    "roll toy cars across each bridge until it collapses",
    "Same contest, the test now for a moving load: answer roll toy cars across, not the gold "
    "D-cell batteries at the center.",
)
row(
    "arc-ending-103", "other-ending", A, "arc_challenge/Mercury_SC_400134",
    "Which tool would be the most helpful for looking closely at the tiny scales on the wing of "
    "a monarch butterfly?",
    "a magnifying glass",
    "Same butterfly study, a different aim: answer a magnifying glass, not the gold a large jar "
    "with air holes in the top.",
)

# ------------------------------------------------------------------- MMLU (new kinds, seed 1101)
# Items: random.Random(1101).shuffle over load_task("mmlu"), skipping ids already in
# make_rephrased_leaks.py; positions below are in that filtered order. Items with numbers were
# picked on purpose for numbers-changed / other-unknown (positions 19, 41, 42, 58, 124, 135, 164).
# Skipped in order: 3 human_aging/7 (a "which does occur" converse restates the gold);
# 7 econometrics/97 (no clean converse or ending); 12 high_school_biology/120 (the
# parasympathetic converse has three right options or repeats the gold text);
# 15, 16, 18-21, 23, 25-27, 30-37 (kinds already filled by earlier items, or no single clear
# converse); 29 high_school_physics/74 (its natural converse, the wavelength, is another unknown
# of the same situation, i.e. a leak).
# MMLU leaks: presupposed-answer.
row(
    "mmlu-presup-101", "presupposed-answer", M, "mmlu/professional_law/75",
    "Two friends drank until both passed out. Later one woke, poured another whiskey, cooked "
    "eggs, and forgot to turn off the stove; gas leaked and the resulting fire burned the house "
    "down. Explain why, charged with arson, he would be found not guilty because arson requires "
    "malice.",
    "Arson needs a malicious burning: an intent to burn or a conscious disregard of an obvious "
    "risk. Forgetting the stove in a drunken haze is at most negligence, so the mental element "
    "of arson is missing and he is acquitted.",
    "The gold option (not guilty, because arson requires the presence of malice) is in the "
    "instruction, which asks to explain it.",
)
row(
    "mmlu-presup-102", "presupposed-answer", M, "mmlu/clinical_knowledge/96",
    "The right way to assess a patient's breathing is to look for chest movements, listen for "
    "breath sounds, and feel for exhaled air on your cheek. Why does the check use all three "
    "senses rather than just one?",
    "Each sense catches what another may miss: chest movement can occur with a blocked airway, "
    "sounds reveal obstruction or gurgling, and air on the cheek confirms that air is actually "
    "moving.",
    "The gold option is stated in the instruction as the correct method; the row asks why.",
)
row(
    "mmlu-presup-103", "presupposed-answer", M, "mmlu/college_physics/5",
    "In helium, ortho- excited states (parallel electron spins) lie below the corresponding "
    "para- states (antiparallel spins). Show how the Pauli exclusion principle accounts for "
    "this.",
    "Pauli requires the total wavefunction to be antisymmetric. With parallel spins the spatial "
    "part must be antisymmetric, which keeps the two electrons apart, lowers their Coulomb "
    "repulsion, and so lowers the energy of the ortho state.",
    "The gold (the Pauli exclusion principle) is given in the instruction, which asks to show "
    "it.",
)
row(
    "mmlu-presup-104", "presupposed-answer", M, "mmlu/professional_psychology/6",
    "Since Gestalt psychotherapists treat a client's desire to talk about his or her past as a "
    "way for the client to avoid coming to terms with the present, how would such a therapist "
    "respond when a client keeps returning to childhood stories?",
    "By bringing the client back to the here and now, e.g. asking what the client feels right "
    "now while telling the story, because dwelling on the past is seen as avoiding the present.",
    "The gold option (a way to avoid coming to terms with the present) is the instruction's "
    "premise.",
)
# MMLU leaks: other-unknown (the whole problem, another quantity asked).
row(
    "mmlu-unknown-101", "other-unknown", M, "mmlu/college_mathematics/7",
    "A 9 m ladder leans against a vertical wall on level ground. Its foot is pulled away from "
    "the wall at a constant 2 m/s and the top slides down the wall. At the moment the top is 3 m "
    "above the ground, how far is the foot of the ladder from the wall?",
    "sqrt(9^2 - 3^2) = sqrt(72) = 6*sqrt(2), about 8.49 m.",
    "All the item's givens kept; asks the foot's distance (6*sqrt(2) m) instead of the top's "
    "speed (gold: 4*sqrt(2) m/s).",
)
row(
    "mmlu-unknown-102", "other-unknown", M, "mmlu/professional_accounting/22",
    "Spark Co. buys cordless phones for $125 each and sells them for $200 each, pays a sales "
    "commission of $25 per phone sold, and has monthly fixed costs of $3000. It wants a profit "
    "of 10% of sales. What is its contribution margin per phone, and how many phones must it "
    "sell just to break even?",
    "Margin = 200 - 125 - 25 = $50 per phone; break-even = 3000 / 50 = 60 phones.",
    "All the item's givens kept; asks the unit margin and break-even volume ($50, 60) instead of "
    "the units for the 10% profit (gold: 100).",
)
row(
    "mmlu-unknown-103", "other-unknown", M, "mmlu/high_school_physics/80",
    "A car starts from rest and accelerates uniformly to 20.0 m/s in 15.0 s. What is its "
    "acceleration?",
    "a = 20.0 / 15.0 = 1.33 m/s^2",
    "All the item's givens kept; asks the acceleration (1.33 m/s^2) instead of the distance "
    "(gold: 150 m).",
)
row(
    "mmlu-unknown-104", "other-unknown", M, "mmlu/college_physics/18",
    "A horizontal massless spring is fixed to a wall at one end; a 0.30 kg mass on its other end "
    "rests on a frictionless table. The mass is pulled 0.030 m from equilibrium and released, and "
    "it passes equilibrium at 0.040 m/s. What is the spring constant?",
    "1/2 k A^2 = 1/2 m v^2, so k = m v^2 / A^2 = 0.30 x 0.0016 / 0.0009 = 0.53 N/m.",
    "All the item's givens kept; asks the spring constant (0.53 N/m) instead of the total "
    "energy (gold: 0.24 mJ).",
)
# MMLU leaks: heavy-paraphrase.
row(
    "mmlu-para-101", "heavy-paraphrase", M, "mmlu/international_law/101",
    "Forum post: in my public international law seminar we contrasted diplomacy (talks, "
    "mediation, good offices) with the courtroom route for quarrels between states. What really "
    "separates the two?",
    "Only the courtroom route, an arbitral award or a World Court judgment, ends in a ruling the "
    "states must accept as conclusive and obey; a diplomatic process leaves them free to reject "
    "whatever it produces.",
    "The item recast as a forum post with new vocabulary; the gold (legal outcomes are final and "
    "binding, diplomatic ones are not) in other words.",
)
row(
    "mmlu-para-102", "heavy-paraphrase", M, "mmlu/high_school_geography/99",
    "A: In cultural geography, when a custom spreads from place to place, there's a special word "
    "for one spot on its map. B: Which spot? A: That's what I'm asking: which one does that word "
    "pick out?",
    "B: The place where the custom started, the spot it first spread out from.",
    "The item recast as a dialogue without the word hearth or diffusion; the gold (origin point) "
    "paraphrased.",
)
row(
    "mmlu-para-103", "heavy-paraphrase", M, "mmlu/virology/29",
    "Among the groups studied, for whom has taking antiretroviral pills before any exposure been "
    "shown to cut new cases of the virus that causes AIDS?",
    "People who inject drugs.",
    "PrEP and HIV described, not named, the sentence reordered; the gold (drug users) in other "
    "words.",
)
row(
    "mmlu-para-104", "heavy-paraphrase", M, "mmlu/professional_law/1367",
    "A top pupil, chosen to give the graduation address, ran for class office and used his "
    "assembly talk to tell lurid made-up tales of staff and classmates' love lives. He was sent "
    "home for five days and lost the graduation honor. He and his family go to federal court "
    "claiming his constitutional right to expression was violated. Will he win?",
    "No. A school may curb lewd and offensive talk at its own assemblies, where student "
    "expression can be limited, so the discipline stands.",
    "The long fact pattern retold in other words; the gold (no, the school may restrict vulgar "
    "speech in a high school setting) paraphrased.",
)
# MMLU hard negatives: converse-question.
row(
    "mmlu-converse-101", "converse-question", M, "mmlu/machine_learning/66",
    "If your training loss decreases only very slowly with number of epochs, which of the "
    "following could be a possible issue with the learning process?",
    "Step size is too small",
    "The opposite symptom asked: answer step size too small, not the gold step size too large.",
)
row(
    "mmlu-converse-102", "converse-question", M, "mmlu/conceptual_physics/51",
    "A step-up transformer in an electrical circuit can step down",
    "current (power stays about the same, so the current falls as the voltage rises)",
    "The inverse asked: answer current, not the gold voltage.",
)
row(
    "mmlu-converse-103", "converse-question", M, "mmlu/high_school_microeconomics/83",
    "The primary focus of macroeconomics is",
    "the economy as a whole: total output, inflation, unemployment and growth.",
    "Macro instead of micro asked: answer the economy as a whole, not the gold individual units "
    "within the overall economy.",
)
row(
    "mmlu-converse-104", "converse-question", M, "mmlu/high_school_physics/89",
    "Which of the following would decrease the capacitance of a parallel-plate capacitor? Using "
    "smaller plates; decreasing the voltage between the plates; moving the plates closer "
    "together.",
    "Using smaller plates",
    "Decrease instead of increase asked: answer using smaller plates, not the gold moving the "
    "plates closer together.",
)
row(
    "mmlu-converse-105", "converse-question", M, "mmlu/medical_genetics/89",
    "The presence of two or more cell lines arising from the same zygote in a single individual "
    "is known as:",
    "mosaicism.",
    "Same zygote instead of different zygotes: answer mosaicism, not the gold chimaerism.",
)
row(
    "mmlu-converse-106", "converse-question", M, "mmlu/miscellaneous/307",
    "Heavy and infrequent irrigation is normally most appropriate for a corn crop growing in a",
    "heavy-textured soil, such as silty clay, which holds more water between waterings.",
    "The opposite irrigation pattern asked: answer heavy-textured soil such as silty clay, not "
    "the gold light-textured loamy sand.",
)
# MMLU hard negatives: numbers-changed.
row(
    "mmlu-numbers-101", "numbers-changed", M, "mmlu/professional_accounting/30",
    "What is the price of a three-year bond (face value $100) that pays no coupons, if its yield "
    "is 4%?",
    "100 / 1.04^3 = 100 / 1.1249 = about $89",
    "Maturity changed from five to three years: answer about $89, not the gold $82.",
)
row(
    "mmlu-numbers-102", "numbers-changed", M, "mmlu/elementary_mathematics/78",
    "Write forty-eight over seventy-two in simplest form.",
    "2 over 3 (divide both by 24).",
    "Numerator changed from 60 to forty-eight (numbers as words): answer 2 over 3, not the gold "
    "5 over 6.",
)
row(
    "mmlu-numbers-103", "numbers-changed", M, "mmlu/elementary_mathematics/263",
    "Marshall wants to finish typing his English paper before class starts. If he still has 550 "
    "words left to type and class starts in twenty-two minutes, at least how fast must Marshall "
    "type to finish his paper on time?",
    "550 / 22 = 25 words per minute",
    "Time changed from 25 to twenty-two minutes (number as words): answer 25 words per minute, "
    "not the gold 22.",
)
# MMLU hard negatives: other-ending (premise kept, conclusion changed).
row(
    "mmlu-ending-101", "other-ending", M, "mmlu/moral_scenarios/548",
    "For which of these two scenarios does the main character (who uses I/me/my) do something "
    "clearly morally wrong, according to ordinary moral standards in the US as of 2020? "
    "Scenario 1 | My sister said not to wear her jersey, so I wore my own. Scenario 2 | I poured "
    "my daughter a bowl of grits and told her to eat it.",
    "Not wrong, Not wrong",
    "Scenario 1's premise kept, its ending changed (I obeyed): answer Not wrong, Not wrong, not "
    "the gold Wrong, Not wrong.",
)
row(
    "mmlu-ending-102", "other-ending", M, "mmlu/moral_scenarios/298",
    "For which of these two scenarios does the main character (who uses I/me/my) do something "
    "clearly morally wrong, according to ordinary moral standards in the US as of 2020? "
    "Scenario 1 | I gave the thirsty 13 year old a glass of water. Scenario 2 | I cheered for "
    "the police officer as he helped the old woman cross the street.",
    "Not wrong, Not wrong",
    "Both scenarios' set-ups kept, endings changed to harmless acts: answer Not wrong, Not "
    "wrong, not the gold Wrong, Wrong.",
)
row(
    "mmlu-ending-103", "other-ending", M, "mmlu/astronomy/122",
    "Sunspots are black regions that temporarily appear on the Sun. They look dark because, "
    "compared with the surface around them, they are",
    "cooler, by roughly 1,500 to 2,000 K, so they give off less light than the surrounding "
    "photosphere.",
    "Premise kept, a different conclusion asked: answer cooler than their surroundings, not the "
    "gold 11 (years of the solar cycle).",
)

# Rows for HellaSwag, TruthfulQA and WinoGrande, hand-written from the items named beside them.
# Items picked with random.Random(2202) shuffling each task's items (WinoGrande: the lines of
# dev.jsonl), skipping ids already in make_rephrased_leaks.py; leak and negative share an item
# where both kinds could be written from it.
# ---------------------------------------------------------------- HellaSwag (hand-written)
# Taken in seed order: 892, 5410, 9766, 318, 2197, 7674, 1468, 567 (a leak and a negative each).
row(
    "hs-para-101", "heavy-paraphrase", H, "hellaswag/892",
    "A reporter taping a segment at a long-distance road race jogs along with the field, chatting "
    "to people as they go. What does she do after that?",
    "Still on the move, she talks with a pair of identical siblings, and the broadcast "
    "then cuts to "
    "shots of other racers nearby.",
    "The marathon clip retold as a reporter's segment; the gold ending (she interviews twins, the "
    "news shows other runners) paraphrased in the output.",
)
row(
    "hs-presup-101", "presupposed-answer", H, "hellaswag/5410",
    "Given that a bubble bar is too much of a treat to spend on a five-minute dip and should be "
    "kept for an evening when you can lie back and unwind at length, how much time should you "
    "set aside before running the bath?",
    "Around twenty minutes, so the soak is long and relaxing.",
    "The gold ending (bubble bars are luxurious, save them for a long bath) stated as the premise; "
    "the output gives the context's twenty minutes.",
)
row(
    "hs-para-102", "heavy-paraphrase", H, "hellaswag/9766",
    "I want to go icy white blonde without frying my hair. A couple of mates already passed on "
    "the names of the colourists they use. How else can I shortlist where to book?",
    "Read what past customers say about salons on review sites and keep the places that score "
    "well with their clients.",
    "The platinum-blonde article turned into a forum question; the gold ending (check online "
    "reviews, pick highly rated salons) paraphrased.",
)
row(
    "hs-presup-102", "presupposed-answer", H, "hellaswag/318",
    "In the TLC segment where the Duggar mother and her little girl are taught to ride and then "
    "trot around a fenced ring, the channel's red-and-white logo sits in the lower right corner "
    "for the entire clip. Why do networks keep their logo on screen like that?",
    "A permanent corner logo (a 'bug') brands the footage wherever it is shown or reposted and "
    "tells viewers which channel they are watching.",
    "The gold ending (the logo stays at the bottom right the whole time) taken as given; a new "
    "question asked about it.",
)
row(
    "hs-para-103", "heavy-paraphrase", H, "hellaswag/2197",
    "The video keeps cutting between the billiards table and a couple having a chat. When the "
    "shot returns to them, what is going on?",
    "They are still chatting, and she is giggling at whatever he has just told her.",
    "The pool clip retold in other words; the gold ending (they keep talking, the woman laughs at "
    "the man) paraphrased.",
)
row(
    "hs-para-104", "heavy-paraphrase", H, "hellaswag/7674",
    "My iPhone 7 locked up. Every guide says to force a reboot by holding the sleep switch and the "
    "round button under the screen, but that does nothing on mine. What is the right combo?",
    "On the 7 and 7 Plus you hold the side button together with volume down instead, and keep "
    "both pressed until the Apple logo shows.",
    "The reset article turned into a user's question; the gold ending (on iPhone 7 use power and "
    "volume down, hold until the Apple logo) paraphrased.",
)
row(
    "hs-presup-103", "presupposed-answer", H, "hellaswag/1468",
    "In a high jump video, a girl sprints down the runway, flings herself over the bar, and then "
    "the whole jump is replayed slowly a second time. What does a coach gain from such a slowed "
    "replay?",
    "It lets the coach see the approach, the take-off angle and the arch over the bar frame by "
    "frame, which is impossible at full speed.",
    "The gold ending (she is shown doing it again in slow motion) taken as given; a new question "
    "asked about it.",
)
row(
    "hs-para-105", "heavy-paraphrase", H, "hellaswag/567",
    "A baker coats a log of dough in granulated sugar on baking parchment, wraps it up and chills "
    "it in the fridge. What is her next move once it is cold?",
    "She takes the chilled log back out and slices it into rectangles.",
    "The cookie clip retold; the gold ending (after cooling, she cuts it into rectangular pieces) "
    "paraphrased.",
)
# HellaSwag hard negatives: the item's context kept, continued with a wrong or new ending.
row(
    "hs-ending-101", "other-ending", H, "hellaswag/892",
    "Running a marathon: A woman is seen speaking to the camera and leads into a woman running "
    "and interviewing other runners. she",
    "stops at a water station and hands paper cups to the runners as they pass.",
    "Context kept, a new ending (she hands out water) instead of the gold (she interviews twins "
    "while running).",
)
row(
    "hs-ending-102", "other-ending", H, "hellaswag/5410",
    "Personal Care and Style: How to use a bubble bar. Plan ahead. Make sure you have enough time "
    "for a nice, long, relaxing bath. About twenty minutes should do.",
    "Run the tap until the water is warm, then crumble the bubble bar under the running stream so "
    "it foams up as the tub fills.",
    "Context kept, a new ending (how to crumble the bar under the tap) instead of the gold (bubble "
    "bars are too luxurious for a quick bath, save them).",
)
row(
    "hs-ending-103", "other-ending", H, "hellaswag/9766",
    "Personal Care and Style: How to become platinum blonde without too much damage. Ask friends. "
    "If you have a friend who recently went platinum or underwent another dramatic hair color "
    "change, ask for the name of her hair stylist. You can also ask friends and family for "
    "recommendations on hair salons and stylists who they think might be able to make you a "
    "platinum blonde without too much damage.",
    "Book short consultations with two or three of the stylists they name, and ask each to show "
    "you photos of platinum work they have done before.",
    "Context kept, a new ending (book consultations, ask for photos) instead of the gold (check "
    "online reviews, choose highly rated salons).",
)
row(
    "hs-ending-104", "other-ending", H, "hellaswag/318",
    "Horseback riding: In between interviews they show the duggar mom and the little girl getting "
    "instructions about their horse and then getting on their horses and riding on them in an "
    "enclosed area. the red and white tlc logo",
    "appears on screen with pictures of the horses inside and out.",
    "Context kept, continued with wrong ending 2 (the logo appears with pictures of the horses) "
    "instead of the gold (the logo stays at the bottom right the whole time).",
)
row(
    "hs-ending-105", "other-ending", H, "hellaswag/2197",
    "Playing pool: The man and woman continue talking to each other. It flashes back to the pool "
    "table. the man and woman",
    "pick up their cues and start a new game, the man breaking the rack.",
    "Context kept, a new ending (they start a new game) instead of the gold (they keep talking "
    "and the woman laughs).",
)
row(
    "hs-ending-106", "other-ending", H, "hellaswag/7674",
    "Computers and Electronics: How to reset, restart and restore an iphone, ipod touch or ipad, "
    "or fix a crashed idevice. Press and hold the power and home buttons. If your ios device is "
    "frozen or acting sluggish, restarting it will usually fix the problem. Press and hold both "
    "the power and the home buttons.",
    "The device will immediately restart and take a few moments to boot up. If your device fails "
    "to boot, or its screen stays frozen, you may need to use icloud backup.",
    "Context kept, continued with wrong ending 2 (the device restarts, else use an iCloud backup) "
    "instead of the gold (on iPhone 7 hold power and volume down).",
)
row(
    "hs-ending-107", "other-ending", H, "hellaswag/1468",
    "High jump: A girl runs down a track in slow motion. She takes a huge jump, hurling herself "
    "over a bar. she",
    "lands on a mat behind her.",
    "Context kept, continued with wrong ending 3 (she lands on a mat) instead of the gold (she is "
    "shown doing it again in slow motion).",
)
row(
    "hs-ending-108", "other-ending", H, "hellaswag/567",
    "Baking cookies: She sprinkles some sugar on a parchment paper and rolls the dough in it and "
    "covers it before keeping it in the refrigerator. after",
    "an hour, she unwraps the dough and rolls it out flat with a rolling pin.",
    "Context kept, a new ending (she rolls the chilled dough flat) instead of the gold (she cuts "
    "it into rectangular pieces).",
)

# ---------------------------------------------------------------- TruthfulQA (hand-written)
# Seed order: 68, 277, 630, 70, 787, 548, 583, 468, 256, 442, 527, 194, 610, 808, 267, 554, 363,
# 729. Leaks from the first eight. Negatives from the first seven, then 729 for a third
# converse-question; 468 has no converse and its false options are bare university names, and
# 256, 442, 527, 194, 610, 808, 267, 554, 363 were passed over: opinion or "no comment" golds
# with no converse question whose answer can be checked.
row(
    "tqa-para-101", "heavy-paraphrase", T, "truthfulqa_mc/68",
    "The quip about a smoke sometimes being only a smoke is usually pinned on the father of "
    "psychoanalysis. Can anyone actually say who came up with it?",
    "No. Its origin is not known; there is no reliable source that it was Freud or anyone else.",
    "The question retold without its quotation; the gold (it is unknown who said it) paraphrased.",
)
row(
    "tqa-presup-101", "presupposed-answer", T, "truthfulqa_mc/277",
    "Since Richard Marquand was the man behind the camera on the third original Star Wars film "
    "(1983), what part did George Lucas play in making it?",
    "Lucas was executive producer and co-wrote the screenplay; Marquand directed.",
    "The gold (Richard Marquand directed Return of the Jedi) taken as the premise of a new "
    "question.",
)
row(
    "tqa-para-102", "heavy-paraphrase", T, "truthfulqa_mc/630",
    "Apart from the French republic itself and its Walloon-Flemish neighbour, is there another "
    "country inside the European Union where lots of people talk in Moliere's language?",
    "Yes: the Grand Duchy of Luxembourg, where a large share of people use French.",
    "The question retold in other words; the gold (Luxembourg) in the output.",
)
row(
    "tqa-presup-102", "presupposed-answer", T, "truthfulqa_mc/70",
    "Hong Kong, Bangkok and London each take in more visitors from abroad per year than the French "
    "capital does. What helps those three outdraw it?",
    "They are huge air hubs with many transit and business travellers; Hong Kong also counts "
    "visitors from mainland China, and Bangkok is a cheap base for touring Southeast Asia.",
    "The gold (Paris gets fewer arrivals than Hong Kong, Bangkok and London) taken as the premise.",
)
row(
    "tqa-para-103", "heavy-paraphrase", T, "truthfulqa_mc/787",
    "My little niece wants to smooch the amphibian in our garden pond like in the fairy tale. "
    "Setting the princes aside, is that any risk to the animal?",
    "It can be: the salt and oils on human lips and skin can irritate its thin, absorbent skin, "
    "and may even kill it.",
    "The question retold as an aunt's worry; the gold (salts and oils on skin may irritate or kill "
    "the frog) paraphrased.",
)
row(
    "tqa-para-104", "heavy-paraphrase", T, "truthfulqa_mc/548",
    "Leaving the W. W. Jacobs horror tale out of it, what does a real macaque or capuchin actually "
    "use the hand at the end of its arm for?",
    "For gripping and holding things: branches, food and other objects.",
    "The question retold; the gold (a monkey's paw lets it grasp objects) paraphrased.",
)
row(
    "tqa-presup-103", "presupposed-answer", T, "truthfulqa_mc/583",
    "Given that no garment whatsoever is banned by law in Britain, why do people keep saying that "
    "wearing hemp is illegal there?",
    "Because hemp is a relative of cannabis, and people mix up the fibre with the drug; hemp "
    "clothing is legal to own and wear.",
    "The gold (no clothing is illegal in the UK) taken as the premise of a new question.",
)
row(
    "tqa-para-105", "heavy-paraphrase", T, "truthfulqa_mc/468",
    "People in Wales boast of a university in their capital with a law faculty, a mix of "
    "neoclassical and new buildings, and a city-centre campus, which often heads their national "
    "league tables. Which institution is it?",
    "Cardiff University.",
    "The riddle reworded; the gold (Cardiff University) as the output.",
)
# TruthfulQA hard negatives: answered with a false option, or asked the other way round.
row(
    "tqa-ending-101", "other-ending", T, "truthfulqa_mc/68",
    "Who said, \"Sometimes a cigar is just a cigar\"?",
    "Sigmund Freud said it.",
    "The question answered with its false option (Freud) instead of the gold (unknown who "
    "said it).",
)
row(
    "tqa-ending-102", "other-ending", T, "truthfulqa_mc/277",
    "Who was the director of \"Return of the Jedi\"?",
    "George Lucas directed \"Return of the Jedi\".",
    "The question answered with a false option (George Lucas) instead of the gold (Richard "
    "Marquand).",
)
row(
    "tqa-converse-101", "converse-question", T, "truthfulqa_mc/630",
    "Some of the European countries that speak French, such as France and Belgium, are in the EU. "
    "Which French-speaking European countries are not EU members?",
    "Switzerland and Monaco.",
    "Asked for non-members instead of members: Switzerland and Monaco, against the gold "
    "Luxembourg.",
)
row(
    "tqa-converse-102", "converse-question", T, "truthfulqa_mc/70",
    "Which major cities get fewer international arrivals than Paris?",
    "New York City, Los Angeles and Miami each get fewer international arrivals than Paris.",
    "Fewer instead of more: New York, Los Angeles and Miami, against the gold Hong Kong, Bangkok "
    "and London.",
)
row(
    "tqa-ending-103", "other-ending", T, "truthfulqa_mc/787",
    "What happens if a girl kisses a frog?",
    "The frog will turn into a prince.",
    "The question answered with its false option (the frog becomes a prince) instead of the gold "
    "(skin salts and oils may harm the frog).",
)
row(
    "tqa-ending-104", "other-ending", T, "truthfulqa_mc/548",
    "What is the function of a monkey's paw?",
    "The holder of a monkey's paw can make three wishes, which come true in terrible ways.",
    "The question answered with its false options (it grants wishes) instead of the gold (it lets "
    "the monkey grasp objects).",
)
row(
    "tqa-ending-105", "other-ending", T, "truthfulqa_mc/583",
    "Are some kinds of clothing illegal in the UK?",
    "Yes, in the UK it's illegal to wear hemp clothing.",
    "The question answered with its false option (hemp clothing is illegal) instead of the gold "
    "(no clothing is illegal).",
)
row(
    "tqa-converse-103", "converse-question", T, "truthfulqa_mc/729",
    "Which event happened further from Cleopatra's birth: the construction of the pyramids or the "
    "moon landing?",
    "The construction of the pyramids: the Great Pyramid was built about 2,500 years before her "
    "birth (69 BC), while the moon landing came about 2,040 years after it.",
    "Closer flipped to further: the pyramids, against the gold the moon landing.",
)

# ---------------------------------------------------------------- WinoGrande (hand-written)
# Leaks: the first eight dev lines in seed order. Negatives (the twin with the trigger flipped):
# only items whose twin is not in dev.jsonl, since the flipped sentence of an item whose twin is
# in dev would be a leak of that twin; so 3CMV9YRY...-2, 39I4RL8Q...-1, 3X0EMNLX...-2,
# 324N5FAH...-2, 3WGCNLZJ...-1, 3ZQA3IO3...-1, 3L7SUC0T...-1 and 3XQ4XW3O...-2 were skipped for
# negatives.
row(
    "wino-para-101", "heavy-paraphrase", W, "3CMV9YRYP3ZQG7T9UV7BYWFXP0HJLC-2",
    "Christine stood before the bench and explained why she had kept driving on a lapsed permit. "
    "Samantha heard her out. Which of the two women was the one deciding the case?",
    "Samantha: she sat as the judge while Christine made her excuses.",
    "The sentence retold as a courtroom scene; the gold (Samantha) in the output.",
)
row(
    "wino-para-102", "heavy-paraphrase", W, "38B7Q9C28IJYLZC05DMWCH75RSS69Z-2",
    "Kyle is the keener seafood eater of the pair and Robert the less keen. Still, one of them "
    "can't bear little oily canned fish on a pizza. Which, if the twist is meant to surprise?",
    "Kyle, the seafood lover; the surprise is that even he won't touch sardines on pizza.",
    "The sentence retold with its order changed; the gold (Kyle) in the output.",
)
row(
    "wino-presup-101", "presupposed-answer", W, "39I4RL8QGJFYRTRY035902X7QMUH4O-1",
    "Since it was Patricia who had just come into an inheritance, why was she the one paying when "
    "she took Felicia out to eat after their hard times?",
    "The inheritance meant Patricia had money to spare, so she could treat her friend.",
    "The gold (Patricia inherited the money) taken as the premise of a new question.",
)
row(
    "wino-para-103", "heavy-paraphrase", W, "3X0EMNLXEPNPYN813CE1I1ZBPXVVPD-2",
    "Two friends argue: Steven reckons cash can get you joy; Craig disagrees. Which of them is the "
    "down-to-earth one?",
    "Craig, who doubts money can get you joy.",
    "The sentence retold as an argument; the gold (Craig) in the output.",
)
row(
    "wino-presup-102", "presupposed-answer", W, "324N5FAHSX9ONWBLQK9TMKDCQ53KVA-2",
    "Steven stayed with his eating plan while Ian, fed up with one fad after another, did not. "
    "Why would Steven be the one to keep it up?",
    "Because the diet was working for Steven, and people stick with what gets results.",
    "The gold (Steven stuck to the routine) stated as a fact and asked about.",
)
row(
    "wino-para-104", "heavy-paraphrase", W, "3WGCNLZJKHMFH3OKBNFH3HZEA2R1DD-1",
    "Training Nick at football wore Craig down. Who was short on the calm it takes to teach?",
    "Craig, the one doing the coaching.",
    "The sentence retold in other words; the gold (Craig) in the output.",
)
row(
    "wino-presup-103", "presupposed-answer", W, "3ZQA3IO31BPRRBG2HYHXMDN5QMB1OS-1",
    "The man had set up a cable connection before, but never internet service. Given that, which "
    "of the two installations went more smoothly for him?",
    "The cable, since he had done it already.",
    "The gold's reason (he had installed the cable before) given as the premise; the output names "
    "the cable.",
)
row(
    "wino-para-105", "heavy-paraphrase", W, "3HEA4ZVWVDK47JB3D6NAGX0VL8E55E-2",
    "Donald sneered at the worn, patched clothes William had on. Whose appearance suggested a "
    "blue-collar background?",
    "William's: his shabby clothes made him look working class.",
    "The sentence retold; the gold (William) in the output.",
)
# WinoGrande hard negatives: the twin sentence with the trigger word flipped.
row(
    "wino-converse-101", "converse-question", W, "38B7Q9C28IJYLZC05DMWCH75RSS69Z-2",
    "Robert usually didn't like fish as much as Kyle however _ had a liking for sardines on pizza. "
    "Robert or Kyle?",
    "Robert",
    "Disliking flipped to liking: the blank is Robert, against the gold Kyle.",
)
row(
    "wino-converse-102", "converse-question", W, "3HEA4ZVWVDK47JB3D6NAGX0VL8E55E-2",
    "Donald stuck his nose up and scoffed at William's ragged outfit, because _ looked like the "
    "upper class. Donald or William?",
    "Donald",
    "Working class flipped to upper class: the blank is Donald, against the gold William.",
)
row(
    "wino-converse-103", "converse-question", W, "3DIIW4IV8R9DHD1PQJZUSCMUEQHI4F-1",
    "James listened carefully to the conversation from the other room but all he could hear was "
    "the clock ticking. The _ is pretty quiet. Fill in: clock or conversation?",
    "conversation",
    "Loud flipped to quiet: the blank is the conversation, against the gold clock.",
)
row(
    "wino-converse-104", "converse-question", W, "34YWR3PJ2AOT8K8J64CTJJJXNWV0XL-1",
    "With my ankle sprain, I am not able to put my foot in my shoe because the _ is too small. "
    "sprain or shoe?",
    "shoe",
    "Too fat flipped to too small: the blank is the shoe, against the gold sprain.",
)
row(
    "wino-converse-105", "converse-question", W, "371QPA24C2M743LADF3WGNTSKBMT1T-1",
    "Samantha strictly followed their diet while Sarah ate what they felt like, and _ ate pizza "
    "and fries all week. Samantha or Sarah?",
    "Sarah",
    "Chicken and broccoli flipped to pizza and fries: the blank is Sarah, against the gold "
    "Samantha.",
)
row(
    "wino-converse-106", "converse-question", W, "311HQEI8RUUWVQ8ISLLNVJ9U160Z76-2",
    "Hunter was a better baker than Logan so _ kept the kitchen tidy when they tried to make an "
    "apple pie. Hunter or Logan?",
    "Hunter",
    "Made a mess flipped to kept tidy: the blank is Hunter, against the gold Logan.",
)
row(
    "wino-converse-107", "converse-question", W, "3VDI8GSXAFRLAYJPS0D4WE1B8QM8GR-2",
    "Alcohol is a love of Matthew's, but Ryan can't stand the stuff, so _ is often drunk at "
    "parties. Matthew or Ryan?",
    "Matthew",
    "'because _ is a sober alcoholic' flipped to 'so _ is often drunk': the blank is Matthew, "
    "against the gold Ryan.",
)
row(
    "wino-converse-108", "converse-question", W, "3EHIMLB7F7XZAUE0C6VMHEDCS7Q8HK-1",
    "Bobby had to use his pen to finish the exam rather than the pencil because the _ had a broken "
    "tip. pen or pencil?",
    "pencil",
    "Full of ink flipped to a broken tip: the blank is the pencil, against the gold pen.",
)

# ---------------------------------------------------------------- GSM8K (hand-written, seed 3303)
# Items drawn with random.Random(3303).shuffle over the 1319 test lines, in draw order: 1186, 1143,
# 1155, 1054, 836, 410, 320, 474, 17, 310, 523, 616, 1080, 1050, 1141, 342 (610 skipped: already
# named in make_rephrased_leaks.py). Each item gives one leak and one hard negative (a pair).
# ---- leaks: other-unknown
row(
    "gsm8k-unknown-101", "other-unknown", G, "gsm8k-test-1186",
    "This week Sam ran 3 miles on each of Monday, Wednesday and Friday, and 5 miles on each of "
    "Tuesday and Thursday. On average, how far did he run per running day?",
    "Monday, Wednesday and Friday give 3 x 3 = 9 miles, Tuesday and Thursday 2 x 5 = 10 miles, "
    "19 miles over the 5 days. 19 / 5 = 3.8 miles a day on average.",
    "Same story and givens, asking for the daily average; the working passes the gold total 19.",
)
row(
    "gsm8k-unknown-102", "other-unknown", G, "gsm8k-test-1143",
    "Tim picks 6 lemons a year from every one of his lemon trees, and across ten years that "
    "comes to 300 lemons. How many trees does Tim have?",
    "300 lemons over 10 years is 30 a year; at 6 per tree that is 30 / 6 = 5 trees.",
    "Inverse problem: the gold 300 stated as a fact and the given 5 trees asked for.",
)
row(
    "gsm8k-unknown-103", "other-unknown", G, "gsm8k-test-1155",
    "A cassette John bought has two songs on it. The opening song runs 5 minutes; the second runs "
    "60% longer than that. What fraction of the cassette's running time is the second song?",
    "60% of 5 minutes is 3 minutes, so the second song lasts 8 minutes and the whole cassette "
    "5 + 8 = 13 minutes. The second song is 8/13 of it.",
    "All givens kept, asking for the second song's share; the output states the gold total 13.",
)
row(
    "gsm8k-unknown-104", "other-unknown", G, "gsm8k-test-1054",
    "Tiling my 200 SqFt kitchen floor with square tiles 1 ft on a side cost me $2,400 in tiles. "
    "What was the price of one tile?",
    "Each tile covers 1 x 1 = 1 SqFt, so 200 tiles were needed; $2,400 / 200 = $12 per tile.",
    "Inverse problem: the gold cost 2400 given as a fact and the tile price 12 asked for.",
)
row(
    "gsm8k-unknown-105", "other-unknown", G, "gsm8k-test-836",
    "For their school art project Jada, Rory and Kora make clay dishes. Kora makes 20, Rory makes "
    "20 more than Kora, and Jada makes double what Rory makes. By how many dishes does Jada's "
    "count beat Kora's?",
    "Rory: 20 + 20 = 40. Jada: 2 x 40 = 80. Jada made 80 - 20 = 60 more than Kora (the three "
    "made 140 dishes between them).",
    "Same story and givens, asking for Jada's lead over Kora; the output also gives the gold 140.",
)
row(
    "gsm8k-unknown-106", "other-unknown", G, "gsm8k-test-410",
    "On a seaside holiday Sally's parents give her $10. She takes 2 pounds of taffy on the deal "
    "\"first pound $3, second pound half price\", a $1.50 bag of seashells, and 4 magnets at "
    "$0.25 apiece. How much did the taffy cost her, and how much did she spend in all?",
    "Taffy: $3 + $1.50 = $4.50. Magnets: 4 x $0.25 = $1.00. Total spent: $4.50 + $1.50 + $1.00 = "
    "$7.00, which leaves her $3 of the $10.",
    "All givens kept, asking for the taffy cost and the total spent; the output ends on "
    "the gold 3.",
)
row(
    "gsm8k-unknown-107", "other-unknown", G, "gsm8k-test-320",
    "A party starts with 25 men and 15 women. An hour later a quarter of everyone has gone home, "
    "and 22 of the men are still there. How many of the women went home?",
    "40 guests, a quarter of them (10) left, so 30 remain. 30 - 22 = 8 women remain, so "
    "15 - 8 = 7 women left.",
    "Same story and givens, asking how many women left; the working states the gold 8 remaining.",
)
row(
    "gsm8k-unknown-108", "other-unknown", G, "gsm8k-test-474",
    "In one grade, 3/4 of the students own a desktop computer at home, and the 20 students without "
    "one make up the rest. How many students in the grade own a desktop?",
    "The 20 students are the remaining 1/4, so the grade has 4 x 20 = 80 students, and "
    "80 - 20 = 60 of them own a desktop.",
    "Same givens, asking for the desktop owners; the working gives the gold 80 students.",
)
# ---- leaks: presupposed-answer
row(
    "gsm8k-presup-101", "presupposed-answer", G, "gsm8k-test-17",
    "Jill earns $20 an hour teaching and $30 an hour coaching cheerleading. She teaches 35 hours "
    "and coaches 15 hours a week, 50 weeks a year. Show that her yearly pay is $57,500.",
    "Teaching: 35 x $20 = $700 a week. Coaching: 15 x $30 = $450 a week. Together $1,150 a week, "
    "and $1,150 x 50 = $57,500 a year, as stated.",
    "The item with its result stated, asking to show it; the output derives the gold 57500.",
)
row(
    "gsm8k-presup-102", "presupposed-answer", G, "gsm8k-test-310",
    "Theo has $6000 for a business trip to South Africa. He buys six $100 suits, three $50 "
    "suitcases, and a plane ticket costing $700 more than five times the price of one suit. "
    "He keeps $2000 in reserve and says that leaves $2050 for gifts for his partners. Is he right?",
    "Suits $600, suitcases $150, ticket $700 + 5 x $100 = $1200, reserve $2000: $3950 in all. "
    "$6000 - $3950 = $2050, so yes, he has $2050 for gifts.",
    "The item's result 2050 stated in the instruction and checked in the output.",
)
row(
    "gsm8k-presup-103", "presupposed-answer", G, "gsm8k-test-523",
    "The Beverly Hills Bakery baked 200 loaves on Monday morning, sold 93 before noon and 39 in "
    "the afternoon, then took back 6 unsold loaves from a grocery store. Explain why it ended up "
    "with 74 loaves.",
    "It sold 93 + 39 = 132 loaves, leaving 200 - 132 = 68. The 6 returned loaves bring that to "
    "68 + 6 = 74.",
    "The item with its gold 74 given, asking to explain it; the output derives 74.",
)
row(
    "gsm8k-presup-104", "presupposed-answer", G, "gsm8k-test-616",
    "Jane's beanstalk stood 3 inches high after one week, doubled its height in week two and "
    "added 4 inches in week three, so it was 10 inches tall after three weeks. If it grows a "
    "further 25% in week four, how tall is it then?",
    "Starting from the 10 inches it reached after week three, 25% more is 10 x 1.25 = 12.5 inches.",
    "The item's story with its gold 10 stated, used in a follow-up step (12.5).",
)
row(
    "gsm8k-presup-105", "presupposed-answer", G, "gsm8k-test-1080",
    "A bubbling spring makes one new jellyfish every second. Five such springs make 72,000 "
    "jellyfish in 4 hours. Using that total, how many do the five make per hour, and how many "
    "does one spring make per minute?",
    "72,000 / 4 = 18,000 jellyfish an hour for the five springs; one spring makes 18,000 / 5 = "
    "3,600 an hour, that is 60 a minute (one a second, which checks out).",
    "The item with its gold 72000 stated as a fact and used in a follow-up computation.",
)
row(
    "gsm8k-presup-106", "presupposed-answer", G, "gsm8k-test-1050",
    "San Diego to New York City is about 1955 km. Bernice has driven 325 km a day for 4 days and "
    "so has 655 km still to go. Keeping to 325 km a day, how many more days of driving does she "
    "need, counting a part day as a day?",
    "655 / 325 is a little over 2 (two days cover 650 km, leaving 5 km), so she needs 3 more days.",
    "The item with its gold 655 stated, used in a follow-up step (3 days).",
)
row(
    "gsm8k-presup-107", "presupposed-answer", G, "gsm8k-test-1141",
    "Chester eats 3 eggs a day for 30 days, then steps up to 5 eggs a day for another 30 days. "
    "Check that he needs exactly 20 dozen eggs for the 60 days.",
    "3 x 30 = 90 eggs plus 5 x 30 = 150 eggs is 240 eggs, and 240 / 12 = 20 dozen. Correct.",
    "The item's result 20 stated, asking to check it; the output confirms 20 dozen.",
)
row(
    "gsm8k-presup-108", "presupposed-answer", G, "gsm8k-test-342",
    "Laurel got 24 hand-me-down baby outfits from a friend, twice that many new ones at her baby "
    "shower, and 15 more from her mom, 87 outfits in total. If she splits them evenly among 3 "
    "drawers, how many go in each drawer?",
    "87 / 3 = 29 outfits per drawer (24 + 48 + 15 = 87, as given).",
    "The item with its gold 87 stated, used in a follow-up division (29).",
)
# ---- hard negatives: numbers-changed
row(
    "gsm8k-numbers-101", "numbers-changed", G, "gsm8k-test-1186",
    "Sam ran four miles on Monday, Wednesday and Friday.  On Tuesday and Thursday, Sam ran 5 "
    "miles.  How many miles did Sam run this week?",
    "3 x 4 = 12 miles on Monday, Wednesday and Friday, 2 x 5 = 10 miles on Tuesday and Thursday: "
    "22 miles.",
    "Only the Monday/Wednesday/Friday distance changed, written as a word (3 to four): 22, not 19.",
)
row(
    "gsm8k-numbers-102", "numbers-changed", G, "gsm8k-test-1155",
    "John buys a cassette with 2 songs.  The first song is 5 minutes and the second song is forty "
    "percent longer.  How much time was the total cassette?",
    "The second song is 5 x 0.4 = 2 minutes longer, so 7 minutes; the cassette is 5 + 7 = 12 "
    "minutes.",
    "Only the percentage changed, written in words (60% to forty percent): 12, not 13.",
)
row(
    "gsm8k-numbers-103", "numbers-changed", G, "gsm8k-test-836",
    "Jada, Rory, and Kora make clay dishes to present as art for their school project. Jada makes "
    "twice as many clay dishes as Rory, while Rory makes ten more clay dishes than Kora. If Kora "
    "made thirty dishes, how many clay dishes they all make together?",
    "Rory made 30 + 10 = 40 dishes and Jada 2 x 40 = 80, so together 30 + 40 + 80 = 150 dishes.",
    "Both 20s changed and written as words (ten more, thirty dishes): 150, not 140.",
)
row(
    "gsm8k-numbers-104", "numbers-changed", G, "gsm8k-test-320",
    "At the beginning of the party, there were 25 men and 15 women. After an hour, 1/4 of the "
    "total number of people left. How many women are left if 24 men stayed at the party?",
    "40 people, 10 left, 30 stayed; 30 - 24 = 6 women are left.",
    "Only the men who stayed changed (22 to 24): 6 women, not 8.",
)
row(
    "gsm8k-numbers-105", "numbers-changed", G, "gsm8k-test-310",
    "Theo has $6000 he wishes to spend on his upcoming business trip to South Africa. He buys five "
    "business suits at $100 each, 3 suitcases at $50 each, a flight ticket that costs $700 more "
    "than 5 times as much as the cost of a business suit. He wishes to save $2000 for this trip, "
    "how much does he have to spend on buying gifts for his business partners in South Africa?",
    "Suits $500, suitcases $150, ticket $700 + $500 = $1200, savings $2000; "
    "$6000 - $3850 = $2150 for gifts.",
    "Only the number of suits changed, written as a word (6 to five): 2150, not 2050.",
)
row(
    "gsm8k-numbers-106", "numbers-changed", G, "gsm8k-test-616",
    "Jane planted a beanstalk in her backyard. After the first week, it was 3 inches tall. It "
    "doubled in height the second week. It grew another seven inches in the third week. How tall "
    "was the beanstalk after 3 weeks?",
    "6 inches after the second week, then 6 + 7 = 13 inches.",
    "Only the third-week growth changed, written as a word (4 to seven): 13, not 10.",
)
row(
    "gsm8k-numbers-107", "numbers-changed", G, "gsm8k-test-1050",
    "It is approximately 1955 kilometers from San Diego, California to New York City, New York. "
    "If Bernice drove 325 kilometers for five days, how many kilometers will she still need to "
    "drive?",
    "325 x 5 = 1625 km driven, so 1955 - 1625 = 330 km remain.",
    "Only the number of days changed, written as a word (4 to five): 330, not 655.",
)
row(
    "gsm8k-numbers-108", "numbers-changed", G, "gsm8k-test-342",
    "Laurel's friend gave her 24 baby outfits that her child no longer needed.  At her baby "
    "shower, Laurel received twice the amount of new baby outfits.  Then, Laurel's mom gifted her "
    "with another nine baby outfits.  How many outfits does she have for her baby?",
    "24 + 48 + 9 = 81 outfits.",
    "Only the mother's gift changed, written as a word (15 to nine): 81, not 87.",
)
# ---- hard negatives: converse-question / other-ending
row(
    "gsm8k-converse-101", "converse-question", G, "gsm8k-test-1143",
    "Tim grows some lemon trees. Each year he collects 6 lemons from each tree, and in a decade "
    "he gets 240 lemons. How many trees does he grow?",
    "240 lemons in 10 years is 24 a year, and 24 / 6 = 4 trees.",
    "Asked the other way round (trees from the decade total) with a new total 240: 4, not 300.",
)
row(
    "gsm8k-converse-102", "converse-question", G, "gsm8k-test-1054",
    "I covered my kitchen floor with new square tiles that cost $12 each, each tile side 1ft in "
    "length, and the tiles cost me $1,800. What is the area of my kitchen floor?",
    "$1,800 / $12 = 150 tiles of 1 SqFt each, so the floor is 150 SqFt.",
    "The area asked from a new total cost ($1,800) instead of the cost from 200 SqFt: "
    "150, not 2400.",
)
row(
    "gsm8k-converse-103", "converse-question", G, "gsm8k-test-474",
    "At a certain grade level, three-fourths of students have a desktop computer at home. If 36 "
    "students have desktop computers, how many students do not have one?",
    "36 is 3/4 of the grade, so there are 48 students and 48 - 36 = 12 have no desktop.",
    "The owners given (36) and the non-owners asked instead of the class size: 12, not 80.",
)
row(
    "gsm8k-converse-104", "converse-question", G, "gsm8k-test-1080",
    "If every second, a bubbling spring creates a new jellyfish, how many hours would 5 springs "
    "working at the same rate need to create 36,000 jellyfish?",
    "Five springs make 5 jellyfish a second, so 36,000 / 5 = 7,200 seconds = 2 hours.",
    "The time asked from a count (36,000) instead of the count from 4 hours: 2, not 72000.",
)
row(
    "gsm8k-converse-105", "converse-question", G, "gsm8k-test-1141",
    "Chester buys 15 dozen eggs. He eats 3 eggs a day for 30 days and then increases it to 5 eggs "
    "a day. For how many days at 5 eggs a day will the eggs last?",
    "15 dozen is 180 eggs; the first 30 days use 90, and 90 / 5 = 18 days.",
    "Days asked from a new egg supply (15 dozen) instead of dozens for 60 days: 18, not 20.",
)
row(
    "gsm8k-ending-101", "other-ending", G, "gsm8k-test-17",
    "Jill gets paid $20 per hour to teach and $30 to be a cheerleading coach. If she works 35 "
    "hours a week as a teacher and 15 hours a week as a coach, what does she earn in one week?",
    "35 x $20 = $700 and 15 x $30 = $450, so $1,150 a week.",
    "Premise kept, the 50 weeks dropped and a weekly figure asked: 1150, not 57500.",
)
row(
    "gsm8k-ending-102", "other-ending", G, "gsm8k-test-410",
    "Sally went to the seashore for vacation.  Her parents gave her $10 to buy whatever she "
    "wanted.  At the trinket shop, taffy was on sale for \"Buy 1 pound at $3, get 1 pound 1/2 "
    "off.\"  She scooped up 2 pounds and a bag of seashells for $1.50, then spent all the rest on "
    "postcards at $0.50 each.  How many postcards did she buy?",
    "Taffy $4.50 and shells $1.50 leave $4.00, which buys 4 / 0.50 = 8 postcards.",
    "Same story ending in postcards instead of 4 magnets: 8 postcards, not $3 left.",
)
row(
    "gsm8k-ending-103", "other-ending", G, "gsm8k-test-523",
    "The bakers at the Beverly Hills Bakery baked 200 loaves of bread on Monday morning. They sold "
    "93 loaves in the morning and 39 loaves in the afternoon, then gave half of the unsold loaves "
    "to a food bank. How many loaves of bread did they keep?",
    "They sold 132, leaving 68; half of that, 34 loaves, stayed at the bakery.",
    "Same premise, the grocery return replaced by a food-bank gift: 34, not 74.",
)

# fmt: on


# ---------------------------------------------------------------- assembly
def _gsm8k(root: Path) -> dict[str, tuple[str, str]]:
    lines = (root / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    out = {}
    for i, line in enumerate(lines):
        item = json.loads(line)
        out[f"gsm8k-test-{i}"] = (item["question"], item["answer"])
    return out


def _winogrande(root: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for line in (root / "winogrande" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        out[item["qID"]] = (item["sentence"], item["option" + item["answer"]])
    return out


def benchmark_items(root: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """benchmark -> id -> (question, gold answer text), for every benchmark the set draws on."""
    items = {
        name: {it.id: (it.question, it.gold_text) for it in load_task(name, root)}
        for name in ("arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc")
    }
    items["gsm8k"] = _gsm8k(root)
    items["winogrande"] = _winogrande(root)
    return items


def verbatim_rows(items) -> None:
    for id_, benchmark, benchmark_id in VERBATIM:
        question, answer = items[benchmark][benchmark_id]
        row(
            id_,
            "verbatim-control",
            benchmark,
            benchmark_id,
            question,
            answer,
            "The item's question copied word for word as the instruction, its gold answer as the "
            "output.",
        )
        ROWS[-1]["round"] = 1  # the controls belong to the first round


def _runs(text: str, n: int = LEAK_RUN_WORDS) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def clean_rows(build: Path, items) -> None:
    """A seeded spread of the build's rows that share no long word run with any benchmark item."""
    leaked = set()
    for per_id in items.values():
        for question, _ in per_id.values():
            leaked |= _runs(question)
    by_source: dict[str, list[dict]] = {}
    for line in build.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        by_source.setdefault(rec["data_source"], []).append(rec)
    rng = random.Random(CLEAN_SEED)
    n = 0
    for source, want in CLEAN_PER_SOURCE.items():
        pool = by_source[source][:]
        rng.shuffle(pool)
        taken = 0
        for rec in pool:
            if taken == want:
                break
            if _runs(rec["instruction"] + " " + rec["output"]) & leaked:
                continue
            n += 1
            taken += 1
            ROWS.append(
                {
                    "id": f"clean-{n:03d}",
                    "round": 1,
                    "label": "clean",
                    "kind": "clean-training-row",
                    "benchmark": None,
                    "benchmark_id": None,
                    "row": {k: rec[k] for k in ("instruction", "input", "output", "data_source")},
                    "how": f"Row {rec['id']} of the built training set, copied unchanged.",
                }
            )


def split_rows() -> None:
    """Every row "dev", but a seeded half of each (benchmark, kind) group of the second round
    "held-out" (the larger half when odd): rows no detector change may be made from."""
    groups: dict[tuple, list[dict]] = {}
    for r in ROWS:
        r["split"] = "dev"
        if r.get("round") == 2:
            groups.setdefault((r["benchmark"], r["kind"]), []).append(r)
    rng = random.Random(HELD_OUT_SEED)
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda r: r["id"])
        rng.shuffle(group)
        for r in group[: (len(group) + 1) // 2]:
            r["split"] = "held-out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, required=True, help="a build's open-platypus.jsonl")
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args()
    items = benchmark_items(data_root(args.data_root))
    verbatim_rows(items)
    for r in ROWS:
        if r["benchmark_id"] not in items[r["benchmark"]]:
            raise SystemExit(f"{r['id']}: no item {r['benchmark_id']} in {r['benchmark']}")
    clean_rows(args.build, items)
    split_rows()
    ids = Counter(r["id"] for r in ROWS)
    dupes = [i for i, c in ids.items() if c > 1]
    if dupes:
        raise SystemExit(f"repeated ids: {dupes}")
    rows = sorted(ROWS, key=lambda r: (r["label"] != "leak", r["benchmark"] or "~", r["id"]))
    with OUT.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = Counter((r["benchmark"], r["kind"]) for r in rows)
    for key, c in sorted(counts.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        print(f"{key[0]!s:15} {key[1]:30} {c}")
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main()
