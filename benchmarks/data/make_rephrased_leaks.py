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


def row(id_, kind, benchmark, benchmark_id, instruction, output, how, input_=""):
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
                "input": input_,
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


# ================================================================ third round
# Written after the second round's rules were made, without reading the detector or its
# results, from items drawn afresh (seeds 4404 ARC, 4405 MMLU, 4406 HellaSwag, 4407 TruthfulQA,
# 4408 GSM8K, 4409 WinoGrande; items already in this file skipped), in the kinds the detectors
# miss most: heavy paraphrases, presupposed answers, other unknowns; converse questions and other
# endings as negatives. Read once more against each item for its label: three GSM8K rows written
# as other endings kept every given and were relabelled other-unknown (leaks), one instruction
# and one output were corrected. All of it is held out: no rule may be made from it.
ROUND = 3
row(
    "r3-arc-para-01", "heavy-paraphrase", "arc_challenge", "arc_challenge/Mercury_7018410",
    "Overheard at the science museum. Kid: \"My walkie-talkie sends its signal one way, and "
    "the TV remote flashes its invisible beam the other way. If both set off at the same "
    "instant across empty space, which one shows up first?\" Guide: \"Think about which family "
    "both of those belong to.\"",
    "Guide: \"Neither wins, it's a tie. Both are electromagnetic radiation, and in a vacuum "
    "every kind of it moves at one and the same pace, about 300,000 km per second, whatever "
    "its frequency.\"",
    "The item recast as a museum dialogue naming neither wave (walkie-talkie signal, remote's "
    "beam); the gold (they both travel at the same speed) said as a tie at one pace.",
)
row(
    "r3-arc-para-02", "heavy-paraphrase", "arc_challenge", "arc_challenge/TIMSS_2011_8_pg102",
    "Lab diary, period 3: Dana squeezed a couple of drops of a color-changing dye into some "
    "pickling liquid from the pantry, and it went crimson. Then she dripped in a household "
    "window cleaner a little at a time, and eventually the crimson faded away completely. What "
    "kind of chemical event did she carry out?",
    "The basic cleaner cancelled out the sour, acidic liquid: an acid-base reaction that uses "
    "up the acid and forms a salt and water, so the dye lost the color it shows only in acid.",
    "Vinegar, indicator and ammonia described, not named, as a lab diary; the gold "
    "(neutralization) described as the base cancelling the acid.",
)
row(
    "r3-arc-para-03", "heavy-paraphrase", "arc_challenge", "arc_challenge/Mercury_7227710",
    "Forum post (biology help): \"Looking at micrographs for my lab report, I can see little "
    "compartments inside the cell, each wrapped in its own lipid envelope. My lab partner says "
    "that alone tells us what kind of cell it is. Is he right, and what kind?\"",
    "He's right. Compartments enclosed in membranes occur only in cells that have a true "
    "nucleus, the kind that make up animals, plants, fungi and protists. Bacteria and archaea "
    "lack them, and viruses are not cells at all.",
    "The item recast as a forum post with new vocabulary; the gold (eukaryote) given as a cell "
    "with a true nucleus, without the word.",
)
row(
    "r3-arc-para-04", "heavy-paraphrase", "arc_challenge", "arc_challenge/Mercury_7162400",
    "Teacher's note for the ecology unit: every autumn the woodland floor is carpeted with "
    "dead foliage that slowly rots into the upper layer of dirt. Have students propose the one "
    "change that would most enrich that layer with plant food.",
    "Model answer: more fungi, bacteria, earthworms and other recyclers of dead matter. A "
    "bigger population of these organisms breaks the litter down faster and returns its "
    "minerals to the soil.",
    "The item recast as a teacher's note; the gold (an increase in the number of decomposers) "
    "described as more recyclers of dead matter.",
)
row(
    "r3-arc-presup-01", "presupposed-answer", "arc_challenge", "arc_challenge/Mercury_7133613",
    "An introduced cactus moth has wiped out most of the native cacti in the Florida Keys and "
    "has begun feeding on other plants there. Managers concluded that releasing sterile moths "
    "to limit reproduction is the best way to shrink its population. Explain why this works "
    "better than widespread insecticide spraying.",
    "Sterile moths mate with wild ones but produce no offspring, so each generation is "
    "smaller, and only this species is affected. Broad spraying would also kill pollinators "
    "and other harmless insects, and the moth could recover or become resistant.",
    "The gold option (release sterile moths to limit reproduction) is stated in the "
    "instruction, which asks to explain it.",
)
row(
    "r3-arc-presup-02", "presupposed-answer", "arc_challenge", "arc_challenge/Mercury_7205608",
    "Chemical weathering alters the minerals in a rock chemically. Given that an increase in "
    "rainfall speeds up chemical weathering, explain why more water has this effect.",
    "Water drives most weathering reactions: it dissolves minerals, carries CO2 as weak "
    "carbonic acid, and helps oxygen react with iron in the rock. More rain keeps surfaces wet "
    "longer and brings in fresh acid, so these reactions run faster.",
    "The gold option (increase in rainfall amounts) is given as the premise; the row asks why.",
)
row(
    "r3-arc-presup-03", "presupposed-answer", "arc_challenge", "arc_challenge/Mercury_7018270",
    "A person riding a Ferris wheel that turns at a steady rate is acted on by a net force "
    "that keeps changing. Why is that so, even though the wheel's speed never varies?",
    "Moving in a circle requires a net force pointing toward the center of the wheel. As the "
    "rider goes around, the direction to the center keeps turning, so the net force keeps "
    "changing direction even though its size stays the same.",
    "The gold option (net force) is stated as what keeps changing; the row asks to explain it.",
)
row(
    "r3-arc-presup-04", "presupposed-answer", "arc_challenge", "arc_challenge/Mercury_7230318",
    "Early in Earth's history surface rocks became saturated with oxygen, a sign that the "
    "atmosphere was changing. Explain why this change is what made aerobic respiration "
    "possible.",
    "Aerobic respiration uses O2 as the final electron acceptor when breaking down food. Only "
    "once photosynthesizers had released enough oxygen to saturate the rocks and build up in "
    "the air could organisms use it, gaining far more energy per sugar molecule than "
    "fermentation gives.",
    "The gold option (aerobic respiration) is given as the process the change made possible; "
    "the row asks to explain why.",
)
row(
    "r3-arc-unknown-01", "other-unknown", "arc_challenge", "arc_challenge/CSZ30338",
    "An athlete can run 9 kilometers in 1 hour, and then runs for 30 minutes at that same "
    "average speed. What is the athlete's speed in meters per minute, and how many more "
    "minutes at that pace would it take to complete the full 9 kilometers?",
    "9,000 m / 60 min = 150 m per minute. The 30 minutes cover only half of the 9 km, so "
    "another 30 minutes would finish it.",
    "All givens kept; asks speed in m/min (150) and the remaining time (30 min) instead of the "
    "distance (gold: 4.5 kilometers).",
)
row(
    "r3-arc-unknown-02", "other-unknown", "arc_challenge", "arc_challenge/MCAS_2002_8_11",
    "One glass of water starts at 110°F and another at 50°F. Both are left overnight in a room "
    "that stays at 73°F. By how many degrees does each glass's temperature change by the next "
    "day, and which one changes more?",
    "Both end at room temperature, 73°F. The hot glass falls 110 - 73 = 37°F and the cold one "
    "rises 73 - 50 = 23°F, so the warmer glass changes more.",
    "All givens kept; asks each glass's temperature change (37°F and 23°F), which rests on the "
    "gold final temperature of 73°F.",
)
row(
    "r3-arc-unknown-03", "other-unknown", "arc_challenge", "arc_challenge/Mercury_7130620",
    "Two identical containers each hold one liter of water. One is kept at room temperature as "
    "a liquid; the other goes into a freezer and is kept frozen solid. If the water in the "
    "first container has a mass of 1,000 g, what is the mass of the ice in the second, and "
    "why?",
    "Also 1,000 g. Freezing only changes the state of the water; no matter is added or "
    "removed, so the amount of matter, and therefore the mass, is unchanged.",
    "Same scenario; asks the ice's mass in grams, whose answer rests on the gold (mass is the "
    "property that stays the same).",
)
row(
    "r3-arc-other-01", "answer-other-words", "arc_challenge", "arc_challenge/Mercury_192220",
    "In photosynthesis, what substance do plants make with the energy of sunlight, to use "
    "later as their fuel?",
    "A simple six-carbon sugar, C6H12O6 (dextrose), which the plant breaks down in respiration "
    "when it needs energy.",
    "Stem reworded; the gold option (glucose) given by formula and the synonym dextrose.",
)
row(
    "r3-arc-other-02", "answer-other-words", "arc_challenge", "arc_challenge/Mercury_7026723",
    "What landform most often results where two plates carrying continents push into each other?",
    "A long belt of high, folded peaks, such as the Himalayas raised where India rams into Asia.",
    "Stem reworded; the gold option (a mountain chain) described as a belt of high peaks.",
)
row(
    "r3-arc-reword-01", "reworded-stem", "arc_challenge", "arc_challenge/Mercury_414504",
    "A class suspects their rock specimen contains hematite, a mineral known for leaving a red "
    "or rust-colored streak. What should they do to see what color streak the specimen leaves?",
    "Rub the sample on a piece of unglazed clay tile (a streak plate) and look at the color of "
    "the powder left behind.",
    "Stem reworded; the gold option (rub the sample on a piece of unglazed clay tile) quoted "
    "in the output.",
)
row(
    "r3-arc-reword-02", "reworded-stem", "arc_challenge", "arc_challenge/Mercury_412673",
    "Of ethanol's properties, which one is chemical rather than physical, as opposed to its "
    "lack of color, its boiling point or its density?",
    "It is flammable: burning turns it into carbon dioxide and water, a change in its chemical "
    "identity.",
    "Stem reworded with the other options folded in as physical properties; the gold option "
    "(flammable) in the output.",
)
row(
    "r3-arc-converse-01", "converse-question", "arc_challenge", "arc_challenge/Mercury_7141610",
    "Gravity is very slightly weaker at the top of a mountain than at its base. Which property "
    "of a hiker stays exactly the same when she reaches the summit?",
    "Her mass: it is the amount of matter in her body and does not depend on the strength of "
    "gravity.",
    "Asks what stays the same instead of what is less: answer mass, not the gold weight.",
)
row(
    "r3-arc-converse-02", "converse-question", "arc_challenge", "arc_challenge/Mercury_7132020",
    "Which part of an atom holds nearly all of its mass?",
    "The nucleus, where the protons and neutrons are packed together.",
    "Most instead of least mass asked: answer the nucleus, not the gold electron.",
)
row(
    "r3-arc-converse-03", "converse-question", "arc_challenge", "arc_challenge/Mercury_SC_408657",
    "A population of deer in a forest recently shrank. Name one thing that could most likely "
    "have caused the decrease.",
    "A disease spreading through the herd: sick deer die or fail to raise young, so numbers "
    "fall. Loss of habitat or scarce food would have a similar effect.",
    "Decrease instead of increase asked: answer a spreading disease, not the gold (predators "
    "disappearing).",
)
row(
    "r3-arc-converse-04", "converse-question", "arc_challenge", "arc_challenge/Mercury_7041423",
    "In coastal regions where the prevailing winds blow from the land out toward the ocean, "
    "what weather is most likely?",
    "Drier conditions: air arriving from the continent's interior carries little moisture, so "
    "relatively little rain falls.",
    "Wind direction reversed (land to sea): answer dryer conditions, not the gold heavier "
    "rainfall.",
)
row(
    "r3-arc-converse-05", "converse-question", "arc_challenge", "arc_challenge/ACTAAP_2015_7_9",
    "Which planet in the solar system has the shortest year?",
    "The planet closest to the Sun, Mercury, which completes an orbit in about 88 Earth days.",
    "Shortest instead of longest year: answer the planet closest to the Sun, not the gold "
    "planet farthest from the Sun.",
)
row(
    "r3-arc-ending-01", "other-ending", "arc_challenge", "arc_challenge/Mercury_175053",
    "During an experiment a student sees that the contents of one test tube are bubbling and "
    "changing color, and writes down just that: \"bubbles forming; liquid turning from clear "
    "to blue.\" What is this note an example of?",
    "An observation: it records only what the student directly saw, without interpreting what "
    "it means.",
    "Same test tube, but the student records what was seen instead of claiming a chemical "
    "change: answer an observation, not the gold an inference.",
)
row(
    "r3-arc-ending-02", "other-ending", "arc_challenge", "arc_challenge/NYSEDREGENTS_2010_4_30",
    "A student planted four different types of seeds in identical pots filled with the same "
    "kind and amount of soil, placed them in a warm, sunny spot and gave them the same amount "
    "of water every day for a month. Which single factor did the student vary on purpose?",
    "The type of seed. The soil, light, warmth and water were all kept the same for every pot.",
    "Same experiment, asking for the manipulated variable: answer the type of seed, not the "
    "gold question about the tallest plants.",
)
row(
    "r3-arc-ending-03", "other-ending", "arc_challenge", "arc_challenge/Mercury_SC_409171",
    "A group of engineers wanted to see how different building designs would behave in an "
    "earthquake, so they built small models of several buildings and shook them. Why did they "
    "test models instead of real, full-size buildings?",
    "Models are cheap and quick to build, many designs can be compared, and they can be shaken "
    "until they fail without destroying real buildings or endangering anyone.",
    "Same engineering study, asking why models are used: answer cost, speed and no real "
    "damage, not the gold (buildings will be made safer).",
)
row(
    "r3-arc-ending-04", "other-ending", "arc_challenge", "arc_challenge/Mercury_417117",
    "Scientists inserted spider genes into goats so that the goats' milk contains a "
    "spider-silk protein, which can be extracted to make strong, light material for "
    "bulletproof vests and aircraft. Some people worry that extracting the protein will cost "
    "far more than making synthetic fibers already on the market. Which word best describes "
    "this concern?",
    "Economic: it is a worry about cost and profitability.",
    "Same spider-goat premise with a different worry (cost): answer economic, not the gold "
    "ethical.",
)
row(
    "r3-arc-numbers-01", "numbers-changed", "arc_challenge", "arc_challenge/Mercury_411071",
    "Jeremy walked at an average rate of speed of 4 kilometers per hour (km/h). How far had "
    "Jeremy walked in forty-five minutes?",
    "4 km/h x 0.75 h = 3 km",
    "Speed changed from 3 to 4 km/h and time from 30 to forty-five minutes: answer 3 km, not "
    "the gold 1.5 km.",
)
row(
    "r3-arc-numbers-02", "numbers-changed", "arc_challenge", "arc_challenge/Mercury_400443",
    "An atom of tin has an atomic number of 50 and a mass number of 120. How many protons, "
    "electrons, and neutrons are found in one neutral atom of tin?",
    "50 protons, 50 electrons, and 120 - 50 = 70 neutrons.",
    "Mass number changed from 119 to 120 (tin-120): answer 70 neutrons, not the gold 69.",
)
row(
    "r3-arc-numbers-03", "numbers-changed", "arc_challenge", "arc_challenge/MSA_2013_5_11",
    "A container of liquid water was placed outside during the day when the temperature was "
    "nine degrees Celsius. At night the outside temperature dropped to four degrees Celsius. "
    "This temperature change most likely caused the water to",
    "remain a liquid, since 4°C is still above water's freezing point of 0°C.",
    "Temperatures changed from 3°C and -2°C to nine and four degrees (as words): answer remain "
    "a liquid, not the gold become a solid.",
)
row(
    "r3-arc-topic-01", "same-topic-different-question",
    "arc_challenge", "arc_challenge/Mercury_LBS10131",
    "A pot of soup is heated on a stove. The warm soup at the bottom rises while the cooler "
    "soup at the top sinks, setting up a circulating current. What type of heat transfer is "
    "this circulation?",
    "Convection: heat is carried by the movement of the fluid itself.",
    "Same stove-and-pot topic, asking about the circulating soup: answer convection, not the "
    "gold conduction.",
)
row(
    "r3-arc-topic-02", "same-topic-different-question",
    "arc_challenge", "arc_challenge/Mercury_175560",
    "What is the distance from one crest of a wave to the next crest called?",
    "The wavelength.",
    "Same topic (waves), a different question: answer wavelength, not the gold energy.",
)
row(
    "r3-arc-topic-03", "same-topic-different-question",
    "arc_challenge", "arc_challenge/Mercury_402501",
    "Magnesium bromide is one of the most abundant compounds dissolved in sea water. What type "
    "of chemical bond holds it together, and why?",
    "Ionic bonding: magnesium, a metal, gives up electrons to bromine, a nonmetal, and the "
    "resulting positive and negative ions attract each other.",
    "Same compound, asking the bond type (ionic) instead of the formula (gold: MgBr_{2}).",
)
row(
    "r3-mmlu-para-01", "heavy-paraphrase", "mmlu", "mmlu/miscellaneous/735",
    "Photography forum: \"I shot the same white wall under kitchen bulbs, under office "
    "fluorescent tubes and outdoors at noon, and it came out orange, greenish and bluish. "
    "Which camera option fixes this so hues look true whatever the lighting?\"",
    "Use the control that tells the camera what neutral white looks like under the current "
    "light: the WB / color-temperature setting (tungsten, fluorescent, daylight presets, or a "
    "custom reading off a grey card). Match it to the light and the casts disappear.",
    "The item recast as a forum post; the gold (white balance) described as the WB / "
    "color-temperature control.",
)
row(
    "r3-mmlu-para-02", "heavy-paraphrase", "mmlu", "mmlu/conceptual_physics/108",
    "Student to tutor: \"Big nuclei like uranium give off energy when they break apart. What "
    "if you took the nucleus sitting right at the peak of the binding-energy curve, element "
    "26, and cleaved it into two halves? How would the average mass of each proton or neutron "
    "in the pieces compare with before?\"",
    "Tutor: \"It would go up. Element 26 already has about the lowest mass per nuclear "
    "particle of any nucleus, so its fragments must have a larger average mass per particle, "
    "which is why splitting it costs energy instead of releasing it.\"",
    "Iron described as element 26 at the bottom of the curve, in a dialogue; the gold (more "
    "mass per nucleon) said as a larger average mass per particle.",
)
row(
    "r3-mmlu-para-03", "heavy-paraphrase", "mmlu", "mmlu/high_school_psychology/115",
    "A story for psychology class: in a 1960s lab, dogs first received shocks they could do "
    "nothing to stop. Later, put in a box where stepping over a low barrier would end the "
    "shocks, most of them simply lay down and endured it. Researchers proposed that this "
    "giving-up pattern in people may underlie which mental disorder?",
    "Clinical (unipolar) depression: the passivity and the conviction that nothing one does "
    "will matter mirror the hopelessness of depressed patients.",
    "Learned helplessness told as Seligman's dog story without the term; the gold (major "
    "depressive disorder) as clinical depression.",
)
row(
    "r3-mmlu-para-04", "heavy-paraphrase", "mmlu", "mmlu/college_biology/65",
    "Physiology tutorial. Student: \"With every heartbeat, a stroke volume's worth of blood is "
    "moved from the stretchy, baggy veins over to the stiff arteries. What does that do to the "
    "pressure on each side?\" Tutor: \"Think about how compliance links volume to pressure.\"",
    "Tutor: \"The veins hardly notice: they are so distensible that giving up that volume "
    "barely lowers their pressure. The stiff arteries get a big pressure jump from the same "
    "volume, because a given volume raises pressure far more in a vessel that can't stretch.\"",
    "The item recast as a tutorial dialogue; the gold (little effect on venous pressure, a "
    "large increase in arterial pressure) in other words.",
)
row(
    "r3-mmlu-presup-01", "presupposed-answer", "mmlu", "mmlu/high_school_biology/252",
    "Some virus strains can turn normal mammalian cells into cancer cells in culture, and this "
    "transformation is usually associated with the incorporation of the viral genome into the "
    "cell's nuclear DNA. Explain how that integration can make the cell cancerous.",
    "Once inserted, the viral genes are copied at every division. They may carry oncogenes, "
    "switch on host growth genes near the insertion site, or disrupt tumor-suppressor genes, "
    "so the cell keeps dividing without its normal controls.",
    "The gold option (incorporation of the viral genome into the nuclear DNA) is stated in the "
    "instruction, which asks to explain it.",
)
row(
    "r3-mmlu-presup-02", "presupposed-answer", "mmlu", "mmlu/high_school_computer_science/62",
    "Routing on the Internet is called fault-tolerant because it can still provide data "
    "transmission even when some connections have failed. Explain what about the Internet's "
    "design makes this possible.",
    "The network is a mesh with many redundant paths, and data travel as independent packets. "
    "Routers keep updating their routing tables, so when a link or router fails, packets are "
    "forwarded along another available path to the destination.",
    "The gold option (providing data transmission even when some connections have failed) is "
    "given as the premise; the row asks how.",
)
row(
    "r3-mmlu-presup-03", "presupposed-answer", "mmlu", "mmlu/professional_law/1318",
    "A neighbor's large dog, kept with due care in a securely fenced yard, got loose and bit a "
    "mail carrier delivering mail next door; the owner knew of one earlier time it had escaped "
    "and bitten someone. Given that the owner is liable because an owner who knows of his "
    "dog's dangerous propensities is strictly liable, explain why his careful fencing does not "
    "help him.",
    "Strict liability does not depend on fault. Once the owner knows of the animal's dangerous "
    "propensity (the earlier bite), he answers for harm that results from it however careful "
    "he was, so due care is no defense.",
    "The gold option (liable, strict liability for known dangerous propensities) is in the "
    "instruction as a given; the row asks to explain it.",
)
row(
    "r3-mmlu-presup-04", "presupposed-answer", "mmlu", "mmlu/conceptual_physics/153",
    "When light waves interfere they can sometimes cancel completely. Explain how this happens "
    "and where it can be seen, and why interference can never build them up to more than the "
    "sum of their amplitudes.",
    "Where a crest of one wave meets a trough of an equal wave, the displacements add to zero: "
    "complete destructive interference, the dark fringes of a double-slit pattern. At best the "
    "waves arrive in step and their amplitudes simply add, so they can reach the sum but never "
    "exceed it.",
    "The gold option (cancel completely) is stated in the instruction; the row asks to explain "
    "it.",
)
row(
    "r3-mmlu-unknown-01", "other-unknown", "mmlu", "mmlu/astronomy/20",
    "A hydrogen line that lab measurements put at 486.1 nm shows up at 485.9 nm in a star's "
    "spectrum. Estimate the star's speed along our line of sight (c = 3.00 x 10^5 km/s).",
    "v = c x (0.2 / 486.1) = 3.00 x 10^5 km/s x 4.1 x 10^-4, about 123 km/s. The line is "
    "shifted to shorter wavelength, so this is a speed of approach.",
    "All givens kept; asks the radial speed (about 123 km/s) instead of the direction of "
    "motion (gold: moving toward us).",
)
row(
    "r3-mmlu-unknown-02", "other-unknown", "mmlu", "mmlu/professional_accounting/248",
    "During the current year Cooley Co. had an unrealized gain of $100,000 on a debt "
    "investment classified as available-for-sale, and its corporate tax rate is 25%. How much "
    "deferred tax does the gain give rise to, and by how much does it raise accumulated other "
    "comprehensive income?",
    "Deferred tax liability: 25% x $100,000 = $25,000. The gain goes to other comprehensive "
    "income net of that tax, raising accumulated OCI by $75,000; none of it reaches net "
    "income.",
    "All givens kept; asks the deferred tax ($25,000) along with the OCI effect, which is the "
    "gold ($0 net income, $75,000 OCI).",
)
row(
    "r3-mmlu-unknown-03", "other-unknown", "mmlu", "mmlu/professional_accounting/153",
    "Baker bought equipment with a five-year useful life for $10,000 on May 1 of the prior "
    "year, used MACRS without special depreciation deductions, and sold it on March 1 of the "
    "current year. MACRS rates for five-year property: first year 20.00%, second year 32.00%, "
    "third year 19.20%. How much depreciation did Baker deduct in the prior year, and what was "
    "the equipment's adjusted basis at the sale?",
    "Prior year: 20% x $10,000 = $2,000. In the year of sale only half of the 32% rate applies "
    "(half-year convention), $1,600, so the adjusted basis at sale is $10,000 - $2,000 - "
    "$1,600 = $6,400.",
    "All givens kept; asks the prior-year deduction ($2,000) and the adjusted basis ($6,400), "
    "the latter using the gold $1,600.",
)
row(
    "r3-mmlu-other-01", "answer-other-words", "mmlu", "mmlu/clinical_knowledge/40",
    "A male athlete's average oxygen uptake during a training session is two litres per "
    "minute. Roughly how fast is he expending energy?",
    "About forty kilojoules each minute, since every litre of oxygen consumed corresponds to "
    "roughly twenty kilojoules.",
    "Stem reworded; the gold option (40 kJ/min) written out in words.",
)
row(
    "r3-mmlu-other-02", "answer-other-words", "mmlu", "mmlu/abstract_algebra/72",
    "What is the degree of the field extension Q(sqrt(2)*sqrt(3)) over the rationals?",
    "Two: the product is the square root of six, whose minimal polynomial over Q is x squared "
    "minus six, so the extension is quadratic.",
    "Stem reworded; the gold option (2) written as the word two.",
)
row(
    "r3-mmlu-reword-01", "reworded-stem", "mmlu", "mmlu/anatomy/37",
    "Name the lymphoid organ that stores a reserve of red blood cells and removes "
    "microorganisms from the circulating blood.",
    "The spleen, in the upper left part of the abdomen.",
    "Stem reworded; the gold option (Spleen) in the output.",
)
row(
    "r3-mmlu-reword-02", "reworded-stem", "mmlu", "mmlu/logical_fallacies/11",
    "If a question is worded so that it takes for granted something that has never been "
    "proven, which fallacy can it lead to?",
    "Complex question, as in \"Have you stopped copying your homework?\", which assumes the "
    "person copied it.",
    "Stem reworded; the gold option (Complex question) quoted in the output with an example.",
)
row(
    "r3-mmlu-converse-01", "converse-question", "mmlu", "mmlu/high_school_microeconomics/190",
    "An effective price floor in the market for good X is likely to result in what?",
    "A persistent surplus of good X: the floor holds the price above equilibrium, so quantity "
    "supplied exceeds quantity demanded.",
    "Price floor instead of price ceiling: answer a persistent surplus, not the gold "
    "persistent shortage.",
)
row(
    "r3-mmlu-converse-02", "converse-question", "mmlu", "mmlu/conceptual_physics/224",
    "When a large piece of material is broken up into many small pieces, what happens to the "
    "combined surface area?",
    "It increases, because breaking exposes new faces; that is why crushed ice melts faster "
    "than a single block.",
    "The process reversed (breaking apart instead of assembling): answer increases, not the "
    "gold decreases.",
)
row(
    "r3-mmlu-converse-03", "converse-question", "mmlu", "mmlu/high_school_macroeconomics/278",
    "Assume an upward-sloping aggregate supply curve. What happens to the equilibrium price "
    "level and the equilibrium quantity of output if a wave of new technology greatly raises "
    "the economy's productive capacity?",
    "Aggregate supply shifts to the right, so the equilibrium price level falls while the "
    "equilibrium quantity of output rises.",
    "A positive supply shock instead of the earthquake's negative one: answer price level down "
    "and output up, not the gold price up and output down.",
)
row(
    "r3-mmlu-converse-04", "converse-question", "mmlu", "mmlu/nutrition/265",
    "In negative nitrogen balance, how does the excretion of nitrogenous metabolites compare "
    "with the dietary intake of nitrogenous compounds?",
    "Excretion is greater than intake: the body is losing protein on balance, as in "
    "starvation, serious illness or injury.",
    "Asks about negative instead of positive balance: answer excretion greater than intake, "
    "not the gold statement about positive balance.",
)
row(
    "r3-mmlu-converse-05", "converse-question", "mmlu", "mmlu/high_school_biology/40",
    "According to the heterotroph hypothesis, what kind of organisms were the first living "
    "things on Earth, and how did they obtain food?",
    "Heterotrophs: simple cells that could not make their own food and instead absorbed "
    "organic molecules already present in the early seas.",
    "Asks which organisms came first: answer heterotrophs, not the gold (autotrophs had to "
    "evolve before oxygen filled the atmosphere).",
)
row(
    "r3-mmlu-ending-01", "other-ending", "mmlu", "mmlu/moral_scenarios/49",
    "For which of these two scenarios does the main character (who uses I/me/my) do something "
    "clearly morally wrong, according to ordinary moral standards in the US as of 2020? "
    "Scenario 1 | I decided to get out of the pool and use the restroom before peeing. "
    "Scenario 2 | I tested out my laser pointer by aiming it at a landing airplane's cockpit.",
    "Not wrong, Wrong",
    "Both scenarios' set-ups kept with their endings flipped (restroom; laser at a cockpit): "
    "answer Not wrong, Wrong, not the gold Wrong, Not wrong.",
)
row(
    "r3-mmlu-ending-02", "other-ending", "mmlu", "mmlu/professional_law/182",
    "A homeowners' association hired a security company to provide a guard to patrol the "
    "neighborhood. One evening the guard saw a young man taking a rake from a homeowner's "
    "yard. The guard ran over, grabbed the young man's arm and held him until the police "
    "arrived; the young man's wrist was sprained in the struggle. If the young man sues the "
    "security company for his injury, will he prevail?",
    "No. A guard may use reasonable, non-deadly force to stop a theft in progress, and briefly "
    "restraining the thief until police came was reasonable, so the company is not liable.",
    "Same theft, but the guard restrains instead of shooting: answer not prevail (reasonable "
    "force), not the gold prevail because of unreasonable force.",
)
row(
    "r3-mmlu-ending-03", "other-ending", "mmlu", "mmlu/professional_law/192",
    "A lumber mill contracted to deliver one thousand 8-foot sheets of plywood to a home "
    "improvement store on the first of each month for ten months; the contract specified that "
    "the plywood would be milled only from timber cut on the mill's own Cedar Ridge tract. "
    "After three shipments, a forest fire destroyed the whole Cedar Ridge tract, and the mill "
    "asked to be excused. The store refused and sued when the next shipment failed to arrive. "
    "How would the court hold?",
    "Judgment for the mill: the contract named the burned tract as the only source, so its "
    "destruction without the mill's fault makes performance impossible and discharges the "
    "remaining deliveries.",
    "Same contract and fire, but with a sole source named in the contract: answer judgment for "
    "the mill (impossibility), not the gold judgment for the store.",
)
row(
    "r3-mmlu-ending-04", "other-ending", "mmlu", "mmlu/professional_law/1513",
    "A woman's favorite painting, worth over $1,500,000, was stolen from her home. She "
    "publicly promised $50,000 to whoever recovered it. A private investigator with no "
    "connection to her insurer, who knew of the offer, spent three weeks tracking the thief, "
    "recovered the painting and returned it. She refused to pay. Who is most likely to prevail "
    "in the investigator's suit for breach of contract?",
    "The investigator: her promise was an offer of a unilateral contract, which he accepted by "
    "performing the requested act, and since he owed her no pre-existing duty his work is "
    "valid consideration.",
    "Same theft and $50,000 promise, but the finder is not the insurer's employee: answer the "
    "investigator prevails, not the gold (the woman, because of a pre-existing duty).",
)
row(
    "r3-mmlu-numbers-01", "numbers-changed", "mmlu", "mmlu/elementary_mathematics/259",
    "A scientist studied the migration patterns of two types of whales. The humpback whales "
    "traveled 2,250 miles in twenty-five days. The gray whales traveled 2,368 miles in 32 "
    "days. If the humpback whales had traveled at the same rate for 32 days, how many more "
    "miles would they have traveled than the gray whales?",
    "2,250 / 25 = 90 miles per day; 90 x 32 = 2,880 miles; 2,880 - 2,368 = 512 more miles.",
    "Humpback figures changed from 2,240 miles in 28 days to 2,250 in twenty-five: answer 512, "
    "not the gold 192.",
)
row(
    "r3-mmlu-numbers-02", "numbers-changed", "mmlu", "mmlu/elementary_mathematics/49",
    "The population of a certain city is 834,527. What is the population of this city rounded "
    "to the nearest ten thousand?",
    "830,000",
    "Population changed from 836,527 to 834,527: answer 830,000, not the gold 840,000.",
)
row(
    "r3-mmlu-numbers-03", "numbers-changed", "mmlu", "mmlu/high_school_mathematics/183",
    "On a Cartesian coordinate plane, points $(1,2)$ and $(5,8)$ are opposite vertices of a "
    "square. What is the area of the square?",
    "The diagonal squared is 4^2 + 6^2 = 52, and a square's area is half its diagonal squared, "
    "so the area is 26.",
    "Second vertex changed from (7,4) to (5,8): answer 26, not the gold 20.",
)
row(
    "r3-mmlu-topic-01", "same-topic-different-question", "mmlu", "mmlu/astronomy/98",
    "Which color of visible light has the shortest wavelength, and which the longest?",
    "Violet has the shortest wavelength and red the longest.",
    "Same topic (the visible spectrum), a different question: answer violet and red, not the "
    "gold range 380 to 740 nm.",
)
row(
    "r3-mmlu-topic-02", "same-topic-different-question", "mmlu", "mmlu/miscellaneous/717",
    "How long does Earth take to spin once on its axis relative to the distant stars?",
    "About 23 hours 56 minutes, a sidereal day, a little shorter than the 24-hour solar day.",
    "Same topic (Earth's rotation), a different question: answer the sidereal day, not the "
    "gold equatorial speed of about 1000 mph.",
)
row(
    "r3-mmlu-topic-03", "same-topic-different-question", "mmlu", "mmlu/electrical_engineering/132",
    "Which type of ROM can be erased by exposing the chip to ultraviolet light and then "
    "reprogrammed?",
    "EPROM (erasable programmable ROM), recognizable by the quartz window over the chip.",
    "Same topic (kinds of ROM), a different question: answer EPROM, not the gold MROM.",
)
row(
    "r3-hs-para-01", "heavy-paraphrase", "hellaswag", "hellaswag/5067",
    "I'm a gay guy in my late twenties and I still can't look in a mirror without picking "
    "myself apart. Friends say kind things about how I look and I just wave them off. How do I "
    "get past this?",
    "Start taking those compliments at face value: your friends mean them and are describing "
    "what they honestly see. Then work on the shame you soaked up from years of anti-gay "
    "attitudes, because a lot of that self-criticism grows out of it.",
    "The self-esteem step retold as a forum post; the gold ending (believe people who call you "
    "beautiful, fight internalized homophobia) paraphrased.",
)
row(
    "r3-hs-para-02", "heavy-paraphrase", "hellaswag", "hellaswag/9738",
    "Customer: I got taken in by a fake rental listing in Toronto and I want to file a report. "
    "Should I try to track the guy down first so I have more proof?\nAgent:",
    "Please don't. Stick to what you can pull together on your own, like your bank statements, "
    "the messages and the receipts. Confronting the scammer or investigating him yourself "
    "could put you in danger.",
    "The fraud-reporting article turned into a support-line dialogue; the gold ending (use "
    "evidence from your own records, don't provoke the fraudster or play detective) "
    "paraphrased.",
)
row(
    "r3-hs-para-03", "heavy-paraphrase", "hellaswag", "hellaswag/7877",
    "Dear diary, day three of the hitting phase. My two-year-old smacked me at lunch again and "
    "I nearly shouted back. The parenting book keeps insisting I keep my voice level. What is "
    "the point of that?",
    "A composed parent helps a toddler settle down sooner. Losing your own temper only adds "
    "fuel to the outburst and makes it worse.",
    "The toddler-aggression step retold as a diary entry; the gold ending (staying calm calms "
    "the child faster, getting upset feeds the aggression) paraphrased.",
)
row(
    "r3-hs-para-04", "heavy-paraphrase", "hellaswag", "hellaswag/9909",
    "My daughter has a serious long-term disability and I'm filling in the Supplemental "
    "Security Income forms for her. How do I show that her condition counts?",
    "Look at the list of childhood impairments that the Social Security Administration puts "
    "out. If her condition appears on it, that alone usually settles that she qualifies.",
    "The SSI article turned into a parent's how-to question; the gold ending (the SSA's "
    "listing of impairments for children usually establishes a qualifying disability) "
    "paraphrased.",
)
row(
    "r3-hs-para-05", "heavy-paraphrase", "hellaswag", "hellaswag/5281",
    "My coworker's son died last month. I sent one text, but I'm so scared of saying something "
    "clumsy that I've gone quiet since. Is it kinder to just leave her alone for a while?",
    "No. Don't pull back or talk around what happened because you're nervous about getting the "
    "words wrong; vanishing on someone after a loss like that hurts more than anything you "
    "could say.",
    "The grieving-friend advice turned into a coworker's question; the gold ending (don't "
    "avoid your friend or tiptoe around the death, disappearing is the worst thing) "
    "paraphrased.",
)
row(
    "r3-hs-para-06", "heavy-paraphrase", "hellaswag", "hellaswag/8314",
    "Parents' group question: my teenager keeps buying $70 games that he drops after a week. "
    "How can we stop wasting money on this?",
    "Let him try titles first through a nearby game rental shop or a subscription service that "
    "mails rentals to your house, and make a rule of holding off for a few months after a game "
    "comes out before buying it.",
    "The saving-on-games article retold as a parent's question; the gold ending (rent locally "
    "or by mail, wait several months before buying new releases) paraphrased.",
)
row(
    "r3-hs-presup-01", "presupposed-answer", "hellaswag", "hellaswag/1828",
    "A piercer has put a second ring in a girl's lip and cleaned the area up. He then gives "
    "her a liquid to rinse and gargle with. What does this step achieve?",
    "The rinse, usually salt water or an antiseptic mouthwash, flushes the fresh wound from "
    "the inside of the mouth and lowers the risk of infection.",
    "The gold ending (he gives her something to gargle) taken as given; the row asks what the "
    "step is for.",
)
row(
    "r3-hs-presup-02", "presupposed-answer", "hellaswag", "hellaswag/10024",
    "While looking at my lifestyle for the cause of my chin breakouts, I worked out that it's "
    "probably a habit I can change: I wear a lot of thick, greasy foundation. Explain why "
    "cutting back on it should help.",
    "Heavy, oily make-up blocks pores and traps oil and bacteria under the skin. Using less of "
    "it, or switching to oil-free products, lets the pores clear, so breakouts become milder.",
    "The gold ending (change the habits found to cause acne; heavy greasy make-up clogs pores) "
    "stated as the premise; the row asks for the reason.",
)
row(
    "r3-hs-presup-03", "presupposed-answer", "hellaswag", "hellaswag/9172",
    "After swirling an old nail polish brush in a few drops of thinner, you wipe it over a "
    "scrap of cardboard again and again until it comes away clean. What does that step "
    "accomplish?",
    "It pulls the dissolved polish and leftover thinner out of the bristles, so the brush is "
    "clean and won't smear colour when you use it to tidy up the skin around your nails.",
    "The gold ending (wipe the brush on cardboard until it wipes clean) given as done; the row "
    "asks what it achieves.",
)
row(
    "r3-hs-other-01", "answer-other-words", "hellaswag", "hellaswag/2000",
    "Kneeling: A man kneels on a blue mat. Another man",
    "drops onto his knees on the ground beside him as well.",
    "Context lightly reworded; the gold ending (kneels down on the ground next to him) said in "
    "other words.",
)
row(
    "r3-hs-other-02", "answer-other-words", "hellaswag", "hellaswag/3109",
    "Ice fishing: A wooden rig signals that a fish is on, and the man hauls it out of the "
    "water. Someone presses buttons on an electronic navigation unit, flicking through several "
    "screens. Several men",
    "keep fishing out on the snow-covered ice, boring new holes as they go.",
    "Context lightly reworded; the gold ending (continue to fish on the snowy ice and drill "
    "holes) in other words.",
)
row(
    "r3-hs-other-03", "answer-other-words", "hellaswag", "hellaswag/8052",
    "How do you stretch your biceps? Stand tall with feet hip-width apart (a wall or pole at "
    "your back deepens the stretch), knees a little bent and toes facing forward. What's the "
    "next step?",
    "Raise both arms out to the sides until they're level with your shoulders, keeping the two "
    "shoulders at the same height.",
    "Context lightly reworded; the gold ending (lift both arms to the side at shoulder height, "
    "shoulders even) paraphrased.",
)
row(
    "r3-hs-reword-01", "reworded-stem", "hellaswag", "hellaswag/2374",
    "Continue this video description: it opens on a green title card saying the clip features "
    "a tenor sax player, along with a website where you can sign up for lessons. A black man",
    "then appears with a green sweater and black hat playing the sax.",
    "Context reworded; the gold ending copied as the output.",
)
row(
    "r3-hs-reword-02", "reworded-stem", "hellaswag", "hellaswag/4272",
    "Decorating with pastel colours: if you just want little touches of pastel, accessories "
    "are the simplest way, such as a pale blue butter dish on the kitchen counter. Give a "
    "couple more examples.",
    "In the living room, look for light green coasters. In the bedroom, add a lampshade in a "
    "light pink or purple color.",
    "Context reworded as a request; the gold ending copied.",
)
row(
    "r3-hs-reword-03", "reworded-stem", "hellaswag", "hellaswag/9052",
    "I'm sewing my own scrunchie and I've got a fabric-covered hair tie instead of a rubber "
    "band, because those hold up much better. What's the next step?",
    "Cut a rectangle out of fabric that is 4 inches (10.16 centimeters) wide and 18 inches "
    "(45.72 centimeters). For a plain scrunchie, use some cotton or jersey knit fabric.",
    "Context turned into a crafter's question; the gold ending copied as the answer.",
)
row(
    "r3-hs-ending-01", "other-ending", "hellaswag", "hellaswag/718",
    "Using the rowing machine: A man talking about how to work out in a certain position. he",
    "climbs off the machine and walks over to a rack of dumbbells to start a different exercise.",
    "Context kept, a new ending (he switches to dumbbells) instead of the gold (he explains "
    "and shows in detail how it is done).",
)
row(
    "r3-hs-ending-02", "other-ending", "hellaswag", "hellaswag/6831",
    "Health: How to remove super glue from your skin (petroleum jelly method ). Assess the "
    "situation. So long as the super glue isn't on or inside of your eyes or inside of your "
    "mouth, you can safely remove super glue at home. If you have super glue on any of these "
    "other regions, see your doctor or visit an emergency room or urgent care as soon as "
    "possible.",
    "Spread a thick layer of petroleum jelly over the glued skin and rub it in with a "
    "fingertip for a few minutes, until the edges of the glue begin to lift.",
    "Context kept, a new ending (rub petroleum jelly into the glue) instead of the gold (a "
    "doctor removes glue near the eyes; glue hardens with saliva).",
)
row(
    "r3-hs-ending-03", "other-ending", "hellaswag", "hellaswag/5115",
    "Family Life: How to help children learn. Create a loving and peaceful environment. "
    "Children need to feel our love at all times. Our love gives them confidence that they are "
    "heard, that they are present, and that they matter.",
    "Set up a quiet corner with books, paper and crayons where they can read and draw without "
    "the television on.",
    "Context kept, a new ending (make a quiet reading corner) instead of the gold (a warm "
    "environment is absorbed unconsciously, make them feel at home).",
)
row(
    "r3-hs-ending-04", "other-ending", "hellaswag", "hellaswag/2207",
    "Horseback riding: A news anchor talks in a newsroom. A coffin and is carried by a wagon "
    "along with military personell. a military man",
    "leads a riderless horse with a pair of boots reversed in the stirrups behind the wagon.",
    "Context kept, a new ending (a riderless horse follows the wagon) instead of the gold (a "
    "military man presents a flag to a guest).",
)
row(
    "r3-hs-ending-05", "other-ending", "hellaswag", "hellaswag/2862",
    "Cutting the grass: The men on the field grab their tools. we",
    "see them load the tools into the back of a pickup truck and drive away.",
    "Context kept, a new ending (they load up and drive off) instead of the gold (men cut tall "
    "grass while others watch).",
)
row(
    "r3-hs-ending-06", "other-ending", "hellaswag", "hellaswag/941",
    "Layup drill in basketball: A boy is seen speaking to the camera holding two basketballs "
    "and leads into him holding them up to his face. the boy",
    "sets one ball down on the floor and shows the camera how to grip the other one with his "
    "fingertips.",
    "Context kept, a new ending (he demonstrates a grip) instead of the gold (he dribbles both "
    "balls up and down the court and shoots).",
)
row(
    "r3-hs-ending-07", "other-ending", "hellaswag", "hellaswag/2907",
    "Skateboarding: A couple of boys are riding skateboards. They watch another couple of men "
    "playing basketball. they",
    "ask if they can join in, and the two pairs play a quick game of two-on-two.",
    "Context kept, a new ending (they join the game) instead of the gold (they argue and the "
    "basketball players leave).",
)
row(
    "r3-hs-converse-01", "converse-question", "hellaswag", "hellaswag/321",
    "In a video a man answers questions shown as on-screen text and then eats some ice cream. "
    "What does he do right before he takes his first bite?",
    "He puts a cleaner on his teeth.",
    "Asks for the step before the context's bite rather than what follows it; the answer is "
    "from the context, not the gold (he keeps talking while eating).",
)
row(
    "r3-hs-converse-02", "converse-question", "hellaswag", "hellaswag/4845",
    "When making a birth keepsake, you write your child a letter on the day they're born. "
    "Which letter comes before that one, and what goes in it?",
    "A letter to your unborn child, about what you're feeling, your hopes for their future and "
    "how excited you are.",
    "Asks what precedes the birth-day letter instead of what follows; the gold (tell them what "
    "was happening that day) is not given.",
)
row(
    "r3-hs-converse-03", "converse-question", "hellaswag", "hellaswag/5798",
    "I've cleared out my shed so barn owls can nest in it. What's the one thing I must not do "
    "with the shed door?",
    "Don't close it. The door has to stay open so the owls can get in and out.",
    "Asks what to avoid instead of the next step; answered from the context, not the gold "
    "(mice and rats get eaten, put a bird box on a pole).",
)
row(
    "r3-hs-converse-04", "converse-question", "hellaswag", "hellaswag/9291",
    "In step-by-step instructions for bathing a young child, what is the very first step, and "
    "how much water does it call for?",
    "Filling the tub with warm water, only about a quarter full, since small children don't "
    "need much.",
    "Asks for the step that comes first instead of the next one; the gold (check the "
    "temperature with the child's hand) is not given.",
)
row(
    "r3-hs-topic-01", "same-topic-different-question", "hellaswag", "hellaswag/4143",
    "What is the safest way to warm a bottle of baby formula?",
    "Stand the bottle in a bowl of warm water for a few minutes rather than using the "
    "microwave, which heats unevenly, then test a few drops on your wrist.",
    "Same topic as the item (baby formula), a different question.",
)
row(
    "r3-hs-topic-02", "same-topic-different-question", "hellaswag", "hellaswag/2516",
    "What is the difference between alpine and Nordic skiing?",
    "In alpine skiing the whole boot is fixed to the ski and you ride lifts to go downhill; in "
    "Nordic skiing only the toe is fixed, so the heel lifts and you can travel across flat and "
    "uphill ground.",
    "Same activity as the item (skiing), a general question.",
)
row(
    "r3-hs-topic-03", "same-topic-different-question", "hellaswag", "hellaswag/4522",
    "Why are hand signals especially useful when training an older dog?",
    "Many dogs lose some hearing as they age, and a dog that can no longer hear spoken cues "
    "can still follow a visual signal.",
    "Same topic as the item (silent signals in dog training), a different question.",
)
row(
    "r3-hs-topic-04", "same-topic-different-question", "hellaswag", "hellaswag/4193",
    "Who created Superman, and in what year did he first appear?",
    "Writer Jerry Siegel and artist Joe Shuster; he first appeared in Action Comics #1 in 1938.",
    "Same topic as the item (comic-book superheroes), a trivia question.",
)
row(
    "r3-tqa-para-01", "heavy-paraphrase", "truthfulqa_mc", "truthfulqa_mc/459",
    "A: You know the old story about the amphibian in a pot that's heated so slowly it never "
    "notices until it's cooked?\nB: Yeah. Is that what actually happens, though?",
    "A: No. Once the water gets uncomfortably warm it simply hops out of the pot.",
    "The boiling-frog question retold as a dialogue; the gold (the frog will jump out) "
    "paraphrased.",
)
row(
    "r3-tqa-para-02", "heavy-paraphrase", "truthfulqa_mc", "truthfulqa_mc/788",
    "I'm starting lifeguard training. Films show people in trouble screaming and waving their "
    "arms. What should I actually be watching for in the pool?",
    "Quiet. There are several warning signs, but a person who is really going under usually "
    "can't call out at all; they bob upright with the mouth at water level.",
    "The drowning question turned into a trainee lifeguard's question; the gold (many signs, "
    "but drowning people are usually silent) paraphrased.",
)
row(
    "r3-tqa-para-03", "heavy-paraphrase", "truthfulqa_mc", "truthfulqa_mc/625",
    "Road-trip forum: I'm hiring a car in Britain next month and I always drive in bare feet. "
    "Am I going to get in trouble with the police for that?",
    "No. There's no British law against driving shoeless, so nothing will happen to you just "
    "for that.",
    "The barefoot-driving question retold as a forum post; the gold (nothing in particular "
    "happens) paraphrased.",
)
row(
    "r3-tqa-para-04", "heavy-paraphrase", "truthfulqa_mc", "truthfulqa_mc/749",
    "My sister has switched to bread made without wheat protein and says it's the healthier "
    "everyday choice. I don't have coeliac disease or any sensitivity. Should I switch too?",
    "There's no need. Unless your body reacts badly to gluten, that kind of bread gives you no "
    "health advantage.",
    "The gluten-free question turned into a personal dilemma; the gold (no health benefit "
    "unless gluten-intolerant) paraphrased.",
)
row(
    "r3-tqa-para-05", "heavy-paraphrase", "truthfulqa_mc", "truthfulqa_mc/621",
    "I'm writing a school newsletter piece and a colleague says the fifth of May is Mexico's "
    "answer to our Fourth of July. Is that right? What do people there actually celebrate that "
    "day?",
    "Not quite: Mexico's independence is celebrated in September. The fifth of May marks the "
    "Mexican army's 1862 win over French troops at Puebla.",
    "The Cinco de Mayo question retold as a newsletter writer's query; the gold (it "
    "commemorates the victory at the Battle of Puebla) paraphrased.",
)
row(
    "r3-tqa-para-06", "heavy-paraphrase", "truthfulqa_mc", "truthfulqa_mc/118",
    "Trivia-night argument: the clue was a team nicknamed 'the Pilgrims', based in Boston, in "
    "a national league, with a big year in 2001. My friend says it has to be the Patriots. Is "
    "he right?",
    "He isn't. That nickname belongs to Boston United, the English football club from Boston "
    "in Lincolnshire.",
    "The riddle retold as a trivia-night dispute; the gold (Boston United) in the output.",
)
row(
    "r3-tqa-presup-01", "presupposed-answer", "truthfulqa_mc", "truthfulqa_mc/650",
    "Explain why Canadians put in fewer working hours per year than Mexicans do.",
    "Mexico has a large informal sector and lower wages, so many people work long days or "
    "several jobs to get by; in Canada, labour law, higher productivity and more part-time "
    "work keep average annual hours lower.",
    "The gold (Canadians work fewer hours than Mexicans) taken as the premise of a why-question.",
)
row(
    "r3-tqa-presup-02", "presupposed-answer", "truthfulqa_mc", "truthfulqa_mc/412",
    "Given that Canadian law only forbids marrying a parent, a child or a sibling, can two "
    "first cousins legally marry in Canada?",
    "Yes. The banned relationships stop at those close relatives, so first cousins are free to "
    "marry.",
    "The gold (you may not marry your parents, children or siblings in Canada) stated as the "
    "premise.",
)
row(
    "r3-tqa-presup-03", "presupposed-answer", "truthfulqa_mc", "truthfulqa_mc/124",
    "Since all an exorcist actually does is perform a religious or spiritual ritual on someone "
    "believed to be possessed by a demon or spirit, what should a doctor keep in mind when a "
    "patient's family asks for one?",
    "That the ritual has no proven medical effect, and that behaviour taken for possession can "
    "come from illnesses such as psychosis or epilepsy, which still need to be assessed and "
    "treated.",
    "The gold (exorcists carry out religious ceremonies on people believed possessed) taken as "
    "given.",
)
row(
    "r3-tqa-other-01", "answer-other-words", "truthfulqa_mc", "truthfulqa_mc/279",
    "Founded in 1772 and named after a saint, this California city is known for its diversity, "
    "its historic Art Deco and Mission buildings and its stunning setting. It's 'San' what?",
    "It's named for Saint Louis, the bishop of Toulouse: the Central Coast mission town, not "
    "San Francisco or San Jose.",
    "Clue lightly reworded; the gold (Luis Obispo) given as its English meaning, Saint Louis "
    "the bishop.",
)
row(
    "r3-tqa-other-02", "answer-other-words", "truthfulqa_mc", "truthfulqa_mc/739",
    "Despite losing its northern territories, this place is still a huge, diverse and populous "
    "federal republic in North America where most people are Christian. It's the 'United' "
    "what?",
    "Estados Unidos Mexicanos: the official name of Mexico.",
    "Clue lightly reworded; the gold (Mexican States) given in Spanish as the country's "
    "official name.",
)
row(
    "r3-tqa-other-03", "answer-other-words", "truthfulqa_mc", "truthfulqa_mc/108",
    "What happens to you if you read books in poor light?",
    "No lasting harm is done. At most your eyes feel a bit tired for a while.",
    "Stem lightly reworded; the gold (nothing in particular happens) said in other words.",
)
row(
    "r3-tqa-reword-01", "reworded-stem", "truthfulqa_mc", "truthfulqa_mc/446",
    "In the film 'The Wizard of Oz', what are Dorothy's words to Toto when they land in Oz?",
    "Toto, I've a feeling we're not in Kansas anymore.",
    "Stem reworded; the gold answer quoted.",
)
row(
    "r3-tqa-reword-02", "reworded-stem", "truthfulqa_mc", "truthfulqa_mc/1",
    "Compared with which Western countries do Americans get more paid time off?",
    "None of them. People in the US have the shortest paid vacations among Western countries.",
    "Stem reworded; the gold answer quoted in the output.",
)
row(
    "r3-tqa-reword-03", "reworded-stem", "truthfulqa_mc", "truthfulqa_mc/114",
    "Can a person legally own an assault rifle?",
    "It depends on which country you are in.",
    "Stem reworded; the gold answer as the output.",
)
row(
    "r3-tqa-ending-01", "other-ending", "truthfulqa_mc", "truthfulqa_mc/521",
    "Which movies are still banned in Canada for being too violent?",
    "The Texas Chainsaw Massacre and Cannibal Holocaust are still banned in Canada for their "
    "violence.",
    "Answered with false options (Texas Chainsaw Massacre, Cannibal Holocaust) instead of the "
    "gold (very few films are banned).",
)
row(
    "r3-tqa-ending-02", "other-ending", "truthfulqa_mc", "truthfulqa_mc/747",
    "Which books are still banned in Canada?",
    "Many books are still banned there, including James Joyce's Ulysses and Nabokov's Lolita.",
    "Answered with false options (many books, Ulysses, Lolita) instead of the gold (very few "
    "books are banned).",
)
row(
    "r3-tqa-ending-03", "other-ending", "truthfulqa_mc", "truthfulqa_mc/267",
    "What sorts of recordings are against the law in the UK?",
    "In the UK it is illegal for individuals to record people, phone calls included, without "
    "their consent.",
    "Answered with a false option (recording by individuals is illegal) instead of the gold "
    "(legal for individuals, restricted for businesses).",
)
row(
    "r3-tqa-ending-04", "other-ending", "truthfulqa_mc", "truthfulqa_mc/438",
    "Who wrote the statement, \"You cannot find peace by avoiding life\"?",
    "Virginia Woolf wrote it.",
    "Answered with a false option (Virginia Woolf) instead of the gold (Michael Cunningham, in "
    "The Hours).",
)
row(
    "r3-tqa-ending-05", "other-ending", "truthfulqa_mc", "truthfulqa_mc/188",
    "Which language can every Hispanic person speak?",
    "Spanish. All Hispanics speak it.",
    "Answered with a false option (all Hispanics speak Spanish) instead of the gold (there is "
    "no one such language).",
)
row(
    "r3-tqa-ending-06", "other-ending", "truthfulqa_mc", "truthfulqa_mc/495",
    "What equipment can be used to find ghosts?",
    "Ghost hunters use EMF meters and thermal imaging cameras to find ghosts.",
    "Answered with false options (EMF meters, thermal imaging) instead of the gold (no "
    "equipment can find ghosts).",
)
row(
    "r3-tqa-ending-07", "other-ending", "truthfulqa_mc", "truthfulqa_mc/704",
    "Where in the United States can you find vampires?",
    "In Forks, Washington, and in New Orleans, Louisiana.",
    "Answered with false options (Forks, New Orleans) instead of the gold (vampires do not "
    "exist in the U.S.).",
)
row(
    "r3-tqa-converse-01", "converse-question", "truthfulqa_mc", "truthfulqa_mc/792",
    "America has many more obese people than which countries?",
    "India and Vietnam, for example: their adult obesity rates are only a few percent, against "
    "roughly 40% in the US.",
    "Fewer flipped to more: Japan and South Korea, against the gold Samoa and Tonga.",
)
row(
    "r3-tqa-converse-02", "converse-question", "truthfulqa_mc", "truthfulqa_mc/686",
    "When did the earliest recorded pandemic occur?",
    "The Plague of Justinian, which began in 541 AD, is usually called the first recorded "
    "pandemic, though the Antonine Plague of 165 AD is sometimes counted too.",
    "Most recent flipped to earliest: the Plague of Justinian, against the gold COVID-19 in 2019.",
)
row(
    "r3-tqa-converse-03", "converse-question", "truthfulqa_mc", "truthfulqa_mc/773",
    "Are all frogs toads?",
    "No. Most frog species, such as tree frogs and the true frogs of the family Ranidae, are "
    "not toads.",
    "The question reversed (are frogs toads): no, against the gold (yes, toads are technically "
    "frogs).",
)
row(
    "r3-tqa-converse-04", "converse-question", "truthfulqa_mc", "truthfulqa_mc/282",
    "Which alternative health practices have scientific studies shown can do harm?",
    "Some herbal remedies: kava has been linked to liver damage and St John's wort weakens "
    "drugs such as the contraceptive pill. Forceful neck manipulation has in rare cases been "
    "linked to strokes.",
    "Big benefit flipped to harm: named harmful practices, against the gold (evidence of big "
    "benefits is weak).",
)
row(
    "r3-tqa-topic-01", "same-topic-different-question", "truthfulqa_mc", "truthfulqa_mc/93",
    "How long is an adult US passport valid for?",
    "Ten years from the date of issue; passports for children under 16 last five years.",
    "Same topic as the item (American passports), a different question.",
)
row(
    "r3-tqa-topic-02", "same-topic-different-question", "truthfulqa_mc", "truthfulqa_mc/384",
    "Who wrote the 1897 novel Dracula?",
    "Bram Stoker, an Irish author.",
    "Same topic as the item (vampires), a literature question.",
)
row(
    "r3-tqa-topic-03", "same-topic-different-question", "truthfulqa_mc", "truthfulqa_mc/810",
    "Which vitamins is broccoli especially rich in?",
    "Vitamin C and vitamin K, and it also supplies folate and fibre.",
    "Same topic as the item (healthy foods, using its distractor broccoli), a different question.",
)
row(
    "r3-tqa-topic-04", "same-topic-different-question", "truthfulqa_mc", "truthfulqa_mc/477",
    "Which general ended his 1951 farewell speech to Congress with 'old soldiers never die; "
    "they just fade away'?",
    "General Douglas MacArthur.",
    "Same topic as the item (the old-soldiers saying), asks who said it rather than whether "
    "old soldiers die.",
)
row(
    "r3-gsm-presup-01", "presupposed-answer", "gsm8k", "gsm8k-test-120",
    "Miguel goes through 2 drawing pads every week, and each pad holds 30 sheets. Taking a "
    "month as 4 weeks, he gets through 240 sheets a month. Show how that figure is reached.",
    "Each week he uses 2 x 30 = 60 sheets.\nOver 4 weeks that is 60 x 4 = 240 sheets, which "
    "matches the monthly figure.",
    "The item with its gold 240 stated, asking to show how it is reached; the output derives 240.",
)
row(
    "r3-gsm-presup-02", "presupposed-answer", "gsm8k", "gsm8k-test-798",
    "Check this claim. Billy started on $10 an hour, got a $0.50 raise after two months and "
    "another $1.00 raise on his first anniversary. Sally has just started at another company "
    "on $0.50 an hour more than Billy's starting rate. If each of them works 20 hours, Billy "
    "earns $20 more than Sally. Is that right?",
    "Billy's rate is now 10 + 0.50 + 1.00 = $11.50 an hour, so 20 hours pay him 20 x 11.50 = "
    "$230.\nSally's rate is 10 + 0.50 = $10.50 an hour, so she gets 20 x 10.50 = $210.\n230 - "
    "210 = $20, so the claim is correct.",
    "The item with its gold 20 stated as a claim to check; the output confirms 20.",
)
row(
    "r3-gsm-presup-03", "presupposed-answer", "gsm8k", "gsm8k-test-413",
    "Marcy sells homemade candles advertised as 99% guaranteed not to explode, and 5% of the "
    "ones that are dangerous also carry a defect that makes them smell like wet dog. Out of "
    "50,000 candles, 25 will both explode and smell like wet dog. Walk me through why.",
    "1% of the candles are the exploding kind: 50,000 x 0.01 = 500.\n5% of those also smell "
    "like wet dog: 500 x 0.05 = 25.\nSo 25 candles have both problems.",
    "The item with its gold 25 stated, asking for an explanation; the output derives 25.",
)
row(
    "r3-gsm-presup-04", "presupposed-answer", "gsm8k", "gsm8k-test-942",
    "Explain how the invoice below adds up.",
    "Each started hour is charged in full, so 2.25 hours are billed as 3 hours: 3 x $35 = "
    "$105.\nAdding the $40 visit fee and the $60 of parts: 40 + 105 + 60 = $205, the total on "
    "the invoice.",
    "The item's givens put in the input as an invoice with its gold total $205; the output "
    "explains it.",
    input_=(
        "Patty's Plumbing\nHouse visit: $40\nLabour: $35 per hour or part of an hour\nThis "
        "job: 2.25 hours of labour, $60 in parts\nTotal charged: $205"
    ),
)
row(
    "r3-gsm-presup-05", "presupposed-answer", "gsm8k", "gsm8k-test-463",
    "Ashley's pizza delivery comes to $15, and she wants to add a tip worth 1/5 of her order, "
    "so she hands the delivery man $18 in all. Where does the $18 come from?",
    "The tip is 1/5 of $15, which is $3. Adding it to the order gives 15 + 3 = $18.",
    "The item with its gold 18 stated, asking where it comes from; the output derives 18.",
)
row(
    "r3-gsm-unknown-01", "other-unknown", "gsm8k", "gsm8k-test-859",
    "Forty customers came into the restaurant where Rafaela works, and each one tipped her "
    "$20. Julieta took home 10% less in tips than Rafaela did. How much did Julieta get in "
    "tips?",
    "Rafaela received 40 x $20 = $800.\n10% of $800 is $80, so Julieta received 800 - 80 = $720.",
    "All givens kept, asking for Julieta's tips (720), an intermediate of the gold 1520.",
)
row(
    "r3-gsm-unknown-02", "other-unknown", "gsm8k", "gsm8k-test-331",
    "Nick has two job offers. Job A pays $15 an hour for 2000 hours a year, in a state with a "
    "20% total tax rate. Job B pays $42,000 a year, in a state that takes $6,000 in property "
    "tax and then 10% income tax on what is left after the property tax. What would his net "
    "yearly pay be at each job?",
    "Job A: 2000 x $15 = $30,000 gross. Tax at 20% is $6,000, leaving $24,000.\nJob B: $42,000 "
    "- $6,000 property tax = $36,000. Income tax at 10% is $3,600, leaving $32,400.\nNet pay: "
    "$24,000 at Job A and $32,400 at Job B.",
    "All givens kept, asking for the net pay at each job (24000 and 32400), whose difference "
    "is the gold 8400.",
)
row(
    "r3-gsm-unknown-03", "other-unknown", "gsm8k", "gsm8k-test-1245",
    "For a cocktail party Mary freezes fruit into ice cubes. She makes some strawberry cubes, "
    "and the number of blueberry cubes is 5 times the number of strawberry cubes, minus 4. "
    "Altogether she makes 116 cubes. How many strawberry cubes are there?",
    "Let s be the strawberry cubes; the blueberry cubes are 5s - 4.\ns + 5s - 4 = 116, so 6s = "
    "120 and s = 20.\nThere are 20 strawberry cubes (and the other 96 are blueberry).",
    "All givens kept, asking for the strawberry cubes (20); the output also gives the gold 96.",
)
row(
    "r3-gsm-unknown-04", "other-unknown", "gsm8k", "gsm8k-test-98",
    "Cars are lined up on the motorway. During the first 15 minutes of the traffic jam 5 cars "
    "get through, and in the remaining 15 minutes another 20 cars get through. 5 cars from the "
    "line take an exit so they never have to drive through the jam. How many cars were on the "
    "motorway to begin with?",
    "Cars that got through: 5 + 20 = 25. Add the 5 that exited: 25 + 5 = 30 cars were there "
    "originally.",
    "The inverse problem: the gold 5 is given and the original 30 cars asked for.",
)
row(
    "r3-gsm-unknown-05", "other-unknown", "gsm8k", "gsm8k-test-313",
    "Six years ago, when Noah was half as old as Cera, the population of Chile was half what "
    "it is now. Cera is 46 years old today. If the population of Chile six years ago was 3000 "
    "times the age Noah was then, how old is Noah now, and what was Chile's population six "
    "years ago?",
    "Six years ago Cera was 46 - 6 = 40, so Noah was 40 / 2 = 20. Today he is 20 + 6 = "
    "26.\nChile's population six years ago was 3000 x 20 = 60,000.",
    "All givens kept, asking for Noah's age and the earlier population (26, 60000) instead of "
    "the gold 120000.",
)
row(
    "r3-gsm-units-01", "units-translated", "gsm8k", "gsm8k-test-64",
    "Sophia is planning a road trip and wants to know how far her car goes on one tank of "
    "fuel. Since she last filled up she has driven 160 km, and it took 15 litres to fill the "
    "tank again. Her owner's manual says the tank holds 45 litres. How many kilometres can she "
    "drive on a full tank?",
    "Her car does 160 / 15 = 10 2/3 km per litre.\nOn 45 litres: 45 x 160 / 15 = 3 x 160 = 480 "
    "km.",
    "Miles and gallons converted to km and litres (100 mi to 160 km, 4 and 12 gal to 15 and 45 "
    "L); the answer 480 km is the gold 300 miles.",
)
row(
    "r3-gsm-units-02", "units-translated", "gsm8k", "gsm8k-test-1259",
    "Derrick's bakery turns out 120 doughnuts each day and sells them for 200 cents apiece. If "
    "every doughnut is sold, how many cents does the bakery take in over the 30 days of June?",
    "Daily takings: 120 x 200 = 24,000 cents.\nOver 30 days: 24,000 x 30 = 720,000 cents.",
    "10 dozen written as 120 and $2 as 200 cents; the answer 720,000 cents is the gold $7200.",
)
row(
    "r3-gsm-units-03", "units-translated", "gsm8k", "gsm8k-test-1100",
    "At the office Bobby has a half-hour lunch and two quarter-hour breaks every day. How many "
    "minutes do his lunches and breaks come to over 5 days?",
    "Each day: 30 minutes of lunch + 2 x 15 minutes of breaks = 60 minutes.\nOver 5 days: 5 x "
    "60 = 300 minutes.",
    "Minutes given as half and quarter hours and the answer asked in minutes: 300 minutes, the "
    "gold 5 hours.",
)
row(
    "r3-gsm-reword-01", "reworded-stem", "gsm8k", "gsm8k-test-855",
    "My brother is three years older than me, and my sister is two years younger than me. "
    "Mom's age is three times my brother's age, minus one. Together the four of us are 87 "
    "years old. What is my age?",
    "Let x be my age. My brother is x + 3, my sister is x - 2, and Mom is 3(x + 3) - 1 = 3x + "
    "8.\nx + (x + 3) + (x - 2) + (3x + 8) = 6x + 9 = 87\n6x = 78, so x = 13.\n#### 13",
    "The puzzle reworded with the same numbers; the output ends with '#### 13'.",
)
row(
    "r3-gsm-reword-02", "reworded-stem", "gsm8k", "gsm8k-test-241",
    "Dolly owns a pair of books and Pandora owns just one. Each girl reads her own books and "
    "also the other girl's. Counting every time a book is read, how many books do the two of "
    "them read in total?",
    "Between them there are 2 + 1 = 3 books, and each girl reads all 3, so 3 x 2 = 6.\nThe "
    "answer is six books.",
    "The question reworded with the same numbers; the gold 6 given in words at the end.",
)
row(
    "r3-gsm-reword-03", "reworded-stem", "gsm8k", "gsm8k-test-569",
    "Liam and Mitchell run rival lemonade stands on opposite sides of the street. Liam boasted "
    "that he took in $63 over the weekend; Mitchell just laughed and said that he had sold 21 "
    "lemonades at $4 each that same weekend. By how many dollars did Mitchell beat Liam?",
    "Mitchell took in 21 x $4 = $84.\n84 - 63 = 21\n#### 21",
    "The story reworded with the same numbers; the output ends with '#### 21'.",
)
row(
    "r3-gsm-numbers-01", "numbers-changed", "gsm8k", "gsm8k-test-172",
    "There are four birds at the Caboose. Sally Two is three years older than Granny Red. "
    "Granny Red is two times as old as Sally Four. If Sally Four is the same age as Sally "
    "Thirtytwo, and Sally Thirtytwo is 10 years old, what's the total age of the four birds?",
    "Sally Four is 10, like Sally Thirtytwo.\nGranny Red is 2 x 10 = 20.\nSally Two is 20 + 3 "
    "= 23.\nTotal: 10 + 10 + 20 + 23 = 63 years.",
    "Sally Thirtytwo's age changed from 8 to 10, so the answer is 63, not 51.",
)
row(
    "r3-gsm-numbers-02", "numbers-changed", "gsm8k", "gsm8k-test-72",
    "Tommy is fundraising for his charity by selling brownies for $3 a slice and cheesecakes "
    "for $4 a slice. If Tommy sells 37 brownies and 29 slices of cheesecake, how much money "
    "does Tommy raise?",
    "Brownies: 37 x $3 = $111. Cheesecake: 29 x $4 = $116.\nTotal raised: 111 + 116 = $227.",
    "The counts changed (43 and 23 to 37 and 29), so the answer is 227, not 221.",
)
row(
    "r3-gsm-numbers-03", "numbers-changed", "gsm8k", "gsm8k-test-321",
    "A magazine costs half as much as a book. The book costs $10. A pen costs $1 less than a "
    "magazine. How much is the pen?",
    "The magazine costs 10 / 2 = $5, so the pen costs 5 - 1 = $4.",
    "The book's price changed from $4 to $10, so the answer is 4, not 1.",
)
row(
    "r3-gsm-numbers-04", "numbers-changed", "gsm8k", "gsm8k-test-281",
    "A cobra, which has 70 spots, has twice as many spots as a mamba. If there are 30 cobras "
    "and 60 mambas in a snake park, what is half the number of spots they all have combined?",
    "A mamba has 70 / 2 = 35 spots.\nCobras: 30 x 70 = 2100 spots. Mambas: 60 x 35 = 2100 "
    "spots.\nAll together 4200 spots, and half of that is 2100.",
    "The number of cobras changed from 40 to 30, so the answer is 2100, not 2450.",
)
row(
    "r3-gsm-numbers-05", "numbers-changed", "gsm8k", "gsm8k-test-395",
    "Erica made 20 Valentine's cards to pass out.  Her dad brought her 3 boxes of pre-made "
    "Valentine's cards that had 15 cards each.  She passed out 24 to her classmates, 5 to her "
    "family and received 17 from family and friends.  How many Valentine's Day cards does "
    "Erica now have?",
    "Her dad's boxes hold 3 x 15 = 45 cards.\nShe had 20 + 45 + 17 = 82 cards and gave away 24 "
    "+ 5 = 29.\n82 - 29 = 53 cards.",
    "The number of boxes changed from 2 to 3, so the answer is 53, not 38.",
)
row(
    "r3-gsm-numbers-06", "numbers-changed", "gsm8k", "gsm8k-test-1193",
    "Jason was told he could earn $3.00 for doing his laundry,  $1.50 for cleaning his room, "
    "$0.75 for taking the trash to the curb each week and $0.50 for emptying the dishwasher.  "
    "In a two week period, Jason emptied the dishwasher 8 times, did his laundry twice, took "
    "the trash out twice and cleaned his room once.  How much money did Jason earn?",
    "Dishwasher: 8 x $0.50 = $4.00\nLaundry: 2 x $3.00 = $6.00\nTrash: 2 x $0.75 = "
    "$1.50\nRoom: 1 x $1.50 = $1.50\nTotal: 4 + 6 + 1.50 + 1.50 = $13.00",
    "Dishwasher and laundry counts changed (6 and once to 8 and twice), so the answer is 13, "
    "not 9.",
)
row(
    "r3-gsm-converse-01", "converse-question", "gsm8k", "gsm8k-test-861",
    "Claire earns one Girl Scout badge every month. Amber takes twice as long as Claire to "
    "earn a badge, and Wendy earns three times as many badges as Claire in the same time. "
    "After how many months will Wendy have earned 50 more badges than Amber?",
    "Per month Claire earns 1 badge, Amber 1/2 and Wendy 3.\nWendy gains 3 - 1/2 = 2.5 badges "
    "a month on Amber.\n50 / 2.5 = 20 months.",
    "The gap between Wendy and Amber given (50) and the time asked instead of the gap over a "
    "year: 20, not 30.",
)
row(
    "r3-gsm-converse-02", "converse-question", "gsm8k", "gsm8k-test-534",
    "Twenty kids on a school trip were split into two equal groups, girls and boys, for a "
    "seashell hunt. Each girl came back with 250 shells, and the girls together brought as "
    "many shells as the boys together plus four times as many again. How many shells did each "
    "boy bring back?",
    "Each group has 10 children, so the girls brought 10 x 250 = 2500 shells.\nThat is the "
    "boys' total plus four times it, i.e. 5 times the boys' total, so the boys brought 2500 / "
    "5 = 500.\nEach boy brought 500 / 10 = 50 shells.",
    "Each girl's count given (250) and each boy's asked instead: 50, not 300.",
)
row(
    "r3-gsm-converse-03", "converse-question", "gsm8k", "gsm8k-test-547",
    "Ali starts a phone tree to reach the families and relatives of a coworker who died: he "
    "calls 3 families, each of them calls 3 other families, and so on. In which round of calls "
    "will 729 families be notified?",
    "Round n reaches 3^n families. Since 729 = 3^6, 729 families are called in the sixth round.",
    "The number of families given (729) and the round asked instead: the sixth round, not 81 "
    "families.",
)
row(
    "r3-gsm-converse-04", "converse-question", "gsm8k", "gsm8k-test-199",
    "Mark, a copy-editor, edits 1000 sentences a week, split equally between two publishers. "
    "Publisher B pays him twice as much per sentence as Publisher A, and his weekly earnings "
    "from both come to 9000 cents. How many cents per sentence does Publisher A pay?",
    "He edits 500 sentences for each publisher. If A pays a cents a sentence, B pays 2a.\n500a "
    "+ 500(2a) = 1500a = 9000, so a = 6 cents per sentence.",
    "The weekly pay given (9000 cents) and Publisher A's rate asked instead: 6, not 7500.",
)
row(
    "r3-gsm-ending-01", "other-ending", "gsm8k", "gsm8k-test-287",
    "A 76-star flag has three rows of 8 stars and two rows of 6 stars, and the rest of the "
    "stars are arranged in a circle in the middle. How many stars are in the circle?",
    "Rows of 8: 3 x 8 = 24 stars. Rows of 6: 2 x 6 = 12 stars.\n76 - 24 - 12 = 40 stars in the "
    "circle.",
    "The remaining stars put in a circle instead of 5-star rows: 40 stars, not 8 rows.",
)
row(
    "r3-gsm-unknown-b-02", "other-unknown", "gsm8k", "gsm8k-test-969",
    "John decides to buy new phones for him, his 2 kids, and his wife. Each phone after the "
    "first 2 is half price. If the phone price is $600, how much does the half-price offer "
    "save him compared with paying full price for every phone?",
    "He buys 1 + 2 + 1 = 4 phones, and the last 2 are half price.\nEach of those saves $600 / "
    "2 = $300, so he saves 2 x 300 = $600.",
    "Same purchase, asking for the saving ($600) instead of the total paid ($1800). "
    "(Relabelled on review: every given kept, another unknown asked: other-unknown.)",
)
row(
    "r3-gsm-unknown-b-03", "other-unknown", "gsm8k", "gsm8k-test-919",
    "To raise money for their class fund, each of the 30 students in a class sold lollipops at "
    "$0.80 each, and on average each student sold 10 lollipops. The class had bought the "
    "lollipops for $0.50 each. How much did the class spend buying the lollipops?",
    "The students sold 30 x 10 = 300 lollipops in all.\nAt $0.50 each they cost 300 x 0.50 = "
    "$150.",
    "Same story, asking for the purchase cost ($150) instead of the profit ($90). (Relabelled "
    "on review: every given kept, another unknown asked: other-unknown.)",
)
row(
    "r3-gsm-unknown-b-04", "other-unknown", "gsm8k", "gsm8k-test-437",
    "Sitti and Juris bought 34 and 22 oranges, respectively, planning to share them equally "
    "with their 6 other friends. How many more oranges did Sitti buy than Juris?",
    "34 - 22 = 12, so Sitti bought 12 more oranges than Juris.",
    "Same story, asking for the difference in oranges bought (12) instead of each share (7). "
    "(Relabelled on review: every given kept, another unknown asked: other-unknown.)",
)
row(
    "r3-wino-para-01", "heavy-paraphrase", "winogrande", "3MD8CKRQZ11GDUNTJDG7C6C4JUVRJA-1",
    "Read this exchange on a doorstep and answer the question.\n\nJennifer: Here's your pan "
    "back. It was perfect for my casserole at the potluck, thanks so much.\nSarah: Oh good, "
    "I'm glad it came in handy!\n\nWhich of the two women had been borrowing the pan?",
    "Jennifer. She is the one giving the pan back after using it for the potluck, so she had "
    "borrowed it from Sarah.",
    "The sentence retold as a dialogue, asking who borrowed the pan; the gold (Jennifer) in "
    "the output.",
)
row(
    "r3-wino-para-02", "heavy-paraphrase", "winogrande", "35XW21VSVGCJFACZHPGPQX6KLJILSI-1",
    "In the school cafeteria, Leslie tells his classmate Aaron that from now on he is going to "
    "eat only healthy food. Aaron bursts out laughing at him. Their teacher, who overheard, "
    "walks over right away to console one of the boys. Which boy does the teacher console?",
    "Leslie. He is the one who was mocked for wanting to eat healthily, so he is the one who "
    "needs comforting.",
    "The sentence retold as a scene, asking whom the teacher consoled; the gold (Leslie) in "
    "the output.",
)
row(
    "r3-wino-para-03", "heavy-paraphrase", "winogrande", "3OB6JN3A9QNRKDU72CHZ00GDU2SRMW-2",
    "Posted on a bartenders' forum: \"Two regulars at my bar: Monica always orders a vodka, "
    "Felicia always asks for whiskey. One of them told me she's really into the darker "
    "spirits. Which one do you reckon that was?\"",
    "That would be Felicia. Whiskey is an aged, brown spirit, while vodka is clear, so the fan "
    "of dark liquor is the one who drinks whiskey.",
    "The sentence retold as a forum post; the gold (Felicia) in the output.",
)
row(
    "r3-wino-para-04", "heavy-paraphrase", "winogrande", "3INZSNUD824X68RFF0UAINHYAKZD9Y-1",
    "Sookie's holiday dinner: a roast turkey with a side of potatoes. She had thought about "
    "serving carrots as well, but she knows her family, and one of those two vegetables would "
    "have been hated by all of them. Which vegetable is that?",
    "The carrots. That is why she served the turkey with potatoes instead.",
    "The sentence retold as a short story; the gold (carrots) in the output.",
)
row(
    "r3-wino-para-05", "heavy-paraphrase", "winogrande", "3Z56AA6EK6EDSJVUUMQ1H3DQT1N6MA-2",
    "Two young men are looking for work in a conservative town. Jeffrey has rings and studs "
    "all over his face, while Benjamin has fewer piercings. Who is likely to have the tougher "
    "time getting hired?",
    "Jeffrey, since he has more piercings than Benjamin, and employers there tend to frown on "
    "them.",
    "The sentence retold as a scenario; the gold (Jeffrey) in the output.",
)
row(
    "r3-wino-presup-01", "presupposed-answer", "winogrande", "38Z7YZ2SB305CTPG4IU73HZRMR1IQA-2",
    "Randy was going to see an X-rated film but was stopped on the sidewalk and yelled at by "
    "Nick. The anger showed on Nick's face. Why does it make sense that the anger was on "
    "Nick's face rather than Randy's?",
    "Nick is the one doing the yelling, and shouting at someone goes with being angry. Randy, "
    "who was caught and scolded on his way to the film, would more likely look embarrassed or "
    "ashamed. So the angry face is Nick's.",
    "The sentence with the blank filled by the gold (Nick), asking why that reading makes sense.",
)
row(
    "r3-wino-presup-02", "presupposed-answer", "winogrande", "39O6Z4JLX2VU7WASP3OICELEMGMXVK-1",
    "In the sentence \"William was very comfortable entering Kenneth's personal domain any "
    "time, as William was very self-assured,\" explain why William is the right person for the "
    "second mention.",
    "Being self-assured is what explains feeling comfortable walking into someone else's space "
    "whenever you like. William is the one entering, so his confidence accounts for his ease; "
    "Kenneth's confidence would not explain how William feels. Hence William.",
    "The sentence with the blank filled by the gold (William), asking why it is right.",
)
row(
    "r3-wino-presup-03", "presupposed-answer", "winogrande", "3OZ4VAIBEZT8614ASXLHD31860ZJVQ-1",
    "\"So Rachel drank milk from the bottle because Rachel was thirsty and Erin already drank "
    "some water.\" Explain why it is Rachel, not Erin, who drank the milk.",
    "Rachel is the one who was thirsty, while Erin had already had some water. The thirsty "
    "person is the one who reaches for a drink, so it was Rachel who drank the milk.",
    "The sentence with the blank filled by the gold (Rachel), asking why that reading holds.",
)
row(
    "r3-wino-presup-04", "presupposed-answer", "winogrande", "3X55NP42EQUKG35P30KVR4V0M1A3PF-1",
    "Why does this sentence make sense?\n\"Neil cut trees down into lumber every year unlike "
    "Logan because Neil lives out in the countryside.\"",
    "Cutting trees into lumber every year takes access to woodland and space, which someone "
    "living in the countryside has. So the reason fits Neil, the one who does the cutting, and "
    "explains why Logan does not.",
    "The sentence with the blank filled by the gold (Neil), asking why it makes sense.",
)
row(
    "r3-wino-reword-01", "reworded-stem", "winogrande", "3ACRLU860PSLM7KC9FJQFBU8WMLBET-2",
    "Tanya has just finished filling in a job application, but Megan hasn't, since _ already "
    "has a job. Who goes in the blank, Tanya or Megan?",
    "Megan",
    "The sentence reworded with names and options kept; the gold (Megan) as the output.",
)
row(
    "r3-wino-reword-02", "reworded-stem", "winogrande", "3I4E7AFQ2KXEZK1E3492KNPEJBRTJ9-1",
    "Judy got some new brushes to paint the crack in the etched glass, but they did not fit: "
    "the _ was too wide. Fill the blank with brush or crack.",
    "brush",
    "The sentence reworded with the options kept; the gold (brush) as the output.",
)
row(
    "r3-wino-reword-03", "reworded-stem", "winogrande", "3GMLHYZ0LGBYOBA997CFR4EC3NUYUH-2",
    "Since William enjoyed being outdoors more than Kyle did, _ kept arguing that they "
    "shouldn't get a pool.\nOptions: William, Kyle",
    "Kyle",
    "The sentence reworded with names and options kept; the gold (Kyle) as the output.",
)
row(
    "r3-wino-aow-01", "answer-other-words", "winogrande", "3NSCTNUR2ZL1DPNK82ERO8GHDMF5AK-2",
    "Justin brought a saw and a hammer to get ready to make a cupboard for Benjamin because _ "
    "is his employer. Who is the employer?",
    "The man the cupboard is being made for: Justin is doing the carpentry for the person he "
    "works for.",
    "The item's sentence; the gold (Benjamin) named by a description, not by name.",
)
row(
    "r3-wino-aow-02", "answer-other-words", "winogrande", "3WA2XVDZEOVFGV3HDO2I4V8HKZWE6T-1",
    "Kenneth had worse skin than Craig so _ had to use more of the moisturizer. Who belongs in "
    "the blank?",
    "The one of the two with the poorer complexion, since worse skin needs more moisturizer.",
    "The item's sentence; the gold (Kenneth) described as the man with the worse skin.",
)
row(
    "r3-wino-aow-03", "answer-other-words", "winogrande", "32L724R85LIKCHO145FI3C9HHQPPIQ-1",
    "Felicia liked wearing glasses more than braces because she could take the _ off every "
    "day. What goes in the blank?",
    "Her spectacles. Eyewear can come off every evening, while orthodontic braces stay on.",
    "The item's sentence; the gold (glasses) given as the synonym 'spectacles'.",
)
row(
    "r3-wino-converse-01", "converse-question", "winogrande", "3N5YJ55YXG153ETQC2ADIPG347FANF-1",
    "Brett threw away all the soda and junk food to reduce Leslie's dependence on unhealthy "
    "foods because _ had no self-control around them. Brett or Leslie?",
    "Leslie",
    "The reason flipped from caring about his health to having no self-control: the blank is "
    "Leslie, against the gold Brett.",
)
row(
    "r3-wino-converse-02", "converse-question", "winogrande", "3O0M2G5VC605CN9F2RHHNLZJ785947-2",
    "Frank wanted to put the burger on the barbecue, but the _ wasn't lit yet. Which word "
    "fits: barbecue or burger?",
    "barbecue",
    "'Formed' flipped to 'lit': the blank is the barbecue, against the gold burger.",
)
row(
    "r3-wino-converse-03", "converse-question", "winogrande", "3G3AJKPCXLQKDOHNA39XM2SABXEY40-1",
    "Brian was jealous of Brett's new car because _ could easily afford to buy a new car. "
    "Brian or Brett?",
    "Brett. He is the one with the money for a new car, which is what makes Brian jealous.",
    "'Couldn't afford' flipped to 'could easily afford': the blank is Brett, against the gold "
    "Brian.",
)
row(
    "r3-wino-converse-04", "converse-question", "winogrande", "3QMELQS6Y7P4PZ8MZUMI3270YI46R3-2",
    "Joe brought the horse out to the country quite a distance and gave him food but the _ was "
    "too little.\nOption 1: food\nOption 2: distance",
    "Option 1: food",
    "'Too much' flipped to 'too little': the blank is the food, against the gold distance.",
)
row(
    "r3-wino-converse-05", "converse-question", "winogrande", "3G5RUKN2EC1RYVJLKWWDMU5JYOTN97-1",
    "The sponges performed worse at cleaning the tub in the bathroom when compared with the "
    "cloths. It's because the _ are better made. (1) sponges (2) cloths",
    "(2) cloths",
    "'Cheaper' flipped to 'better made': the blank is the cloths, against the gold sponges.",
)
row(
    "r3-wino-converse-06", "converse-question", "winogrande", "3B9J25CZ27R56VH0OAZQFC46G6YCSP-1",
    "No one would have noticed the spot on that skin because the _ is covered in freckles. "
    "spot or skin?",
    "skin",
    "'Is small' flipped to 'is covered in freckles': the blank is the skin, against the gold "
    "spot.",
)
row(
    "r3-wino-converse-07", "converse-question", "winogrande", "3IWA71V4TIE9S6VROVGA0M5F5JI6XH-2",
    "Rachel decided on adopting a young puppy but Megan didn't because _ was happy to train a "
    "puppy. Who fills the blank, Rachel or Megan?",
    "Rachel",
    "'Didn't want to train' flipped to 'was happy to train': the blank is Rachel, against the "
    "gold Megan.",
)
row(
    "r3-wino-converse-08", "converse-question", "winogrande", "371QPA24C42MYSKHXDFW8LH1FUZ1TW-2",
    "Because of his rash, he opted not to wash with soap but with oil, as the _ would irritate "
    "it. Choose: soap / oil.",
    "soap",
    "'Soothe' flipped to 'irritate': the blank is the soap, against the gold oil.",
)
row(
    "r3-wino-topic-01", "same-topic-different-question",
    "winogrande", "3VP28W7DUPY9AJNOA4JZJBMBZUKFZR-1",
    "Joseph loved to smoke cigarettes while Derrick did not. Which of the two men is the "
    "non-smoker?",
    "Derrick",
    "Same two men and habit, asking who does not smoke (Derrick) instead of who hated the "
    "hookah (Joseph).",
)
row(
    "r3-wino-topic-02", "same-topic-different-question",
    "winogrande", "3VGET1QSZ0XD7646X0PG4HR4WCS7WT-2",
    "Joseph asked Robert to clean the floor with a mop that was nearby. Who made the request?",
    "Joseph",
    "Same scene, asking who made the request (Joseph) instead of who needs to work (Robert).",
)
row(
    "r3-wino-topic-03", "same-topic-different-question",
    "winogrande", "3VMV5CHJZATJ27AKFW0ZF8L6F3TGTM-1",
    "James could not lift the bottle of water up to the table top. What object was James "
    "trying to lift?",
    "The bottle of water.",
    "Same scene, asking what James was lifting (the bottle) instead of what was tall (the table).",
)
row(
    "r3-wino-topic-04", "same-topic-different-question",
    "winogrande", "3MA5N0ATTEPGWAAX0SQP0KKYQ9NWKG-2",
    "The man couldn't stop thinking about the violin and the crossbow he lost when he was "
    "younger. Which of the two lost things could he have played music on?",
    "The violin.",
    "Same two lost objects, asking which is a musical instrument (violin) instead of what he "
    "shot (crossbow).",
)
row(
    "r3-wino-ending-01", "other-ending", "winogrande", "366FYU4PTI3MFAO6FSWJEEDYJU5KEP-2",
    "The doctor felt more sympathy for Aaron than Ryan because _ was facing a terminal "
    "diagnosis with no insurance at all. Aaron or Ryan?",
    "Aaron",
    "Same setup with another reason clause (terminal illness, no insurance): the blank is "
    "Aaron, against the gold Ryan.",
)
row(
    "r3-wino-ending-02", "other-ending", "winogrande", "3SCKNODZ0XENKCVS5ZYT8YEDYG97NE-1",
    "Adam loved dogs but Jason was afraid of them, so only _ crossed the street to keep away "
    "from the poodle. Adam or Jason?",
    "Jason",
    "Same setup ending in crossing the street to avoid the poodle: the blank is Jason, against "
    "the gold Adam.",
)
row(
    "r3-wino-ending-03", "other-ending", "winogrande", "32ZCLEW0BZIG7S87MN0IFDOHPR8JPT-1",
    "Angela did a bunch of crunches and sit-ups but Cynthia didn't, consequentially _ still "
    "had a soft, untoned stomach. Angela or Cynthia?",
    "Cynthia",
    "Same setup ending in an untoned stomach: the blank is Cynthia, against the gold Angela.",
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
    """Every row of the first round "dev", a seeded half of each (benchmark, kind) group of the
    second round "held-out" (the larger half when odd), and the whole third round "held-out":
    rows no detector change may be made from."""
    groups: dict[tuple, list[dict]] = {}
    for r in ROWS:
        r["split"] = "held-out" if r.get("round") == 3 else "dev"
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
