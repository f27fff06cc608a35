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
)
NEGATIVE_KINDS = ("numbers-changed", "same-topic-different-question")
# Clean rows per data_source: a spread over every source of the build, MATH the largest as in
# the build itself.
CLEAN_PER_SOURCE = {"MATH/PRM-800K": 16, "ARB": 8, "reclor": 6, "scibench": 5, "theoremqa": 5}
CLEAN_SEED = 20231
# A clean candidate sharing this many consecutive words with a benchmark question is skipped.
LEAK_RUN_WORDS = 10

ROWS: list[dict] = []


def row(id_, kind, benchmark, benchmark_id, instruction, output, how):
    label = "clean" if kind in NEGATIVE_KINDS else "leak"
    ROWS.append(
        {
            "id": id_,
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
                    "label": "clean",
                    "kind": "clean-training-row",
                    "benchmark": None,
                    "benchmark_id": None,
                    "row": {k: rec[k] for k in ("instruction", "input", "output", "data_source")},
                    "how": f"Row {rec['id']} of the built training set, copied unchanged.",
                }
            )


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
