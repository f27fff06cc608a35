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
]

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
            id_, "verbatim-control", benchmark, benchmark_id, question, answer,
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
