"""The semantic-hit verifier, rule by rule, on pairs written for this file (not the dev set).

Each near-miss names the rule expected to refuse it; each paraphrase must pass. Both
directions are checked: the verifier is symmetric in what it refuses.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from scalegate.cache.verify import Lexicon, Verifier, default_verifier, near_miss_reason, rule
from scalegate.cache.verify.features import analyse
from scalegate.cache.verify.fields import BOUNDARY, CLAUSE
from scalegate.cache.verify.roles import fronted_last
from scalegate.cache.verify.tokens import (
    case_differs,
    cased,
    glued,
    glued_words,
    one_edit,
    tokenize,
)

NEAR_MISSES = [
    # negation, words and affixes
    ("Is it possible to freeze cooked rice?",
     "Is it impossible to freeze cooked rice?", "negation"),
    ("Why is my account active?", "Why is my account inactive?", "negation"),
    ("How do I find my paid invoices?", "How do I find my unpaid invoices?", "negation"),
    ("Is this move legal in chess?", "Is this move illegal in chess?", "negation"),
    ("Why is my cat so careful?", "Why is my cat so careless?", "negation"),
    ("Does the museum ever open on Mondays?", "Does the museum never open on Mondays?", "negation"),
    ("Should I reply to the email?", "Shouldn't I reply to the email?", "negation"),
    # quantifiers
    ("What if none of my tests pass?", "What if all of my tests pass?", "negation"),
    ("Is a bit of salt fine in bread dough?",
     "Is plenty of salt fine in bread dough?", "quantifier"),
    ("Do most birds migrate?", "Do some birds migrate?", "quantifier"),
    ("Can every user edit the wiki?", "Can any user edit the wiki?", "quantifier"),
    # tense and modality
    ("What happened at the summit in Geneva?", "What happens at the summit in Geneva?", "tense"),
    ("Who won the chess olympiad?", "Who will win the chess olympiad?", "tense"),
    ("Was the bridge open last winter?", "Is the bridge open last winter?", "tense"),
    ("Should I water succulents daily?", "Can I water succulents daily?", "modality"),
    ("Must I declare my crypto gains?", "May I declare my crypto gains?", "modality"),
    # times, numbers, units
    ("Set an alarm for 7 am", "Set an alarm for 7 pm", "times"),
    ("Is the shop open at 9:30pm?", "Is the shop open at 9:30am?", "times"),
    ("Book a table for four people", "Book a table for five people", "numbers"),
    ("What's the 2nd largest moon of Saturn?", "What's the 3rd largest moon of Saturn?", "numbers"),
    ("How many grams of sugar are in a cup?", "How many ounces of sugar are in a cup?", "units"),
    ("Convert 30 euros to dollars", "Convert 30 dollars to euros", "numbers"),  # 30 EUR ≠ 30 USD
    # antonyms WordNet knows, degree, direction
    ("Is it rude to arrive early to a dinner?",
     "Is it rude to arrive late to a dinner?", "antonym"),
    ("How do I make my sourdough crust soft?", "How do I make my sourdough crust hard?", "antonym"),
    ("Why does my phone battery drain so fast?",
     "Why does my phone battery drain so slowly?", "antonym"),
    ("Which planet is the hottest?", "Which planet is hot?", "comparison"),
    ("Is tea healthier than coffee?", "Is tea healthy, like coffee?", "unaligned"),
    ("Should I stretch before running?", "Should I stretch after running?", "direction"),
    ("How do I scroll up in tmux?", "How do I scroll down in tmux?", "direction"),
    # question word, quotes, code, symbols
    ("When was the Eiffel Tower built?", "Where was the Eiffel Tower built?", "question"),
    ('What does "I can\'t even" mean?', 'What does "I can even" mean?', "quoted"),
    ("What does 'it's raining' mean in French?",
     "What does 'its raining' mean in French?", "quoted"),
    ("What does `ls -la` print?", "What does `ls -l` print?", "code"),
    ("What does 👍 mean in a work chat?", "What does 👎 mean in a work chat?", "symbols"),
    # content words: names, topics, roles
    ("How do I bake a lemon tart?", "How do I bake a lime tart?", "unaligned"),
    ("Who designed the Sydney Opera House?", "Who designed the Berlin Opera House?", "unaligned"),
    ("Did the goalkeeper foul the striker?", "Did the striker foul the goalkeeper?", "order"),
    ("Is a kilo of feathers heavier than a kilo of lead?",
     "Is a kilo of lead heavier than a kilo of feathers?", "order"),
    ("Send the report from Anna to Ben", "Send the report from Ben to Anna", "order"),
    # persons and roles (holdout3's false hits, reworded)
    ("I'm 30 and my brother is 17. Can I open a bank account alone?",
     "I'm 30 and my brother is 17. Can he open a bank account alone?", "person"),
    ("Did Marie Curie meet Albert Einstein?", "Did Albert Einstein meet Marie Curie?", "order"),
    ("My neighbour owes me 300 pounds", "I owe my neighbour 300 pounds", "order"),
    # contradictions in closed classes, not mere differences
    ("Do I have to register my bike?", "Can I register my bike?", "modality"),
    ("Delete rows where all values are empty", "Delete rows where any value is empty",
     "quantifier"),
    ("Which day was the museum open?", "Which day will the museum be open?", "tense"),
    ("Take the pills before meals", "Take the pills before or after meals", "direction"),
    ("What is May 5 in the Chinese zodiac?", "What is June 5 in the Chinese zodiac?",
     "unaligned"),
    # v3 (after holdout4): operators outside quotes are compared exactly
    ("Does x += 1 work in Lua?", "Does x = 1 work in Lua?", "symbols"),
    ("Is if (a == b) valid in C?", "Is if (a = b) valid in C?", "symbols"),
    ("What is 9 - 4 times 2?", "What is 9 / 4 times 2?", "symbols"),
    ("Why does i++ differ from ++i here?", "Why does i+1 differ from i here?", "symbols"),
    # a phrase that narrows the question, on one side only: its noun is no light verb
    ("How do I get to Rome from Milan by bus?", "How do I get to Rome from Milan?", "unaligned"),
    ("How do I travel from Oslo to Bergen with a dog?", "How do I travel from Oslo to Bergen?",
     "unaligned"),
    # deontic force: obligation, permission, prohibition
    ("Do I have to tip in Japan?", "Am I allowed to tip in Japan?", "modality"),
    ("Is it mandatory to vote in Belgium?", "Is it permitted to vote in Belgium?", "modality"),
    ("Is it forbidden to feed the ducks?", "Is it allowed to feed the ducks?", "negation"),
    # an item added to a list widens the question
    ("Name the oceans", "Name the oceans and seas", "unaligned"),
    ("Which countries border Peru?", "Which countries or islands border Peru?", "unaligned"),
    # roles of noun phrases with determiners and possessives
    ("Our cat scratched the vet's assistant", "The vet's assistant scratched our cat", "order"),
    ("My brother called the landlord's lawyer", "The landlord's lawyer called my brother",
     "order"),
    # the subject of the question: a pronoun or a possessed noun
    ("Should I tell my cousin about the leak in the attic?",
     "Should my cousin tell me about the leak in the attic?", "person"),
    ("Is it legal for my boss to check my phone?", "Is it legal for me to check my boss's phone?",
     "person"),
    ("My aunt is diabetic and I am not. Which snacks are fine for me?",
     "My aunt is diabetic and I am not. Which snacks are fine for her?", "person"),
    # v4: who does what in a statement, a pronoun on one side at least
    ("He borrowed my car last week. How do I ask for it back?",
     "I borrowed his car last week. How do I ask for it back?", "person"),
    ("My sister ignored my messages all week, what should I do?",
     "I ignored my sister's messages all week, what should I do?", "order"),
    # v4: a count is not a choice; how much of a group; a verb-like noun after its article
    ("How many moons does Jupiter have?", "Which moons does Jupiter have?", "question"),
    ("Our class has thirty students. All of the students passed, and two got top marks.",
     "Our class has thirty students. Two of the students passed, and all got top marks.",
     "partitive"),
    ("How do I turn a JavaScript object into a map?",
     "How do I turn a JavaScript map into an object?", "order"),
    # v5: who does what anywhere in a clause, actors of several words, signs, cause/effect
    ("Is it my fault if my cat scratched the neighbor's kid?",
     "Is it my fault if the neighbor's cat scratched my kid?", "order"),
    ("Last spring I sold my cousin a used bike. Can I ask for it back?",
     "Last spring my cousin sold me a used bike. Can I ask for it back?", "order"),
    ("My older sister crashed my scooter, who pays for the repair?",
     "I crashed my older sister's scooter, who pays for the repair?", "person"),
    ("What is the cube root of -27?", "What is the cube root of 27?", "numbers"),
    ("What does stress trigger?", "What triggers stress?", "order"),
    # v6: a person as the object, compound subjects, verbs with a preposition, ordinals
    ("Who pays if my car hit my landlord?", "Who pays if my landlord's car hit me?", "order"),
    ("What does heavy snowfall cause?", "What causes heavy snowfall?", "order"),
    ("What does poor sleep result in?", "What results in poor sleep?", "order"),
    ("Move the file from the second folder to the fourth folder",
     "Move the file from the fourth folder to the second folder", "order"),
    ("The ad says the scooter does 20 mph. Is that really about 20 km/h?",
     "The ad says the scooter does 20 km/h. Is that really about 20 mph?", "conversion"),
    # v7: a person said twice keeps its first place; "what" is no place; names in capitals
    ("He is taller than me and I'm 180 cm. How tall is he?",
     "I am taller than him and I'm 180 cm. How tall is he?", "order"),
    ("What is Machu Picchu?", "Where is Machu Picchu?", "question"),
    ("Does a PUT request need a body?", "Does a GET request need a body?", "unaligned"),
    # v8: subjects after do-support in "which" questions, owners, chained verbs
    ("Which birds eat snails?", "Which birds do snails eat?", "order"),
    ("Can I put my son's name on my lease?", "Can I put my name on my son's lease?", "order"),
    ("His dog chased our cat. Who is liable?", "Our dog chased his cat. Who is liable?",
     "owners"),
    ("Is it legal to open my tenant's mail?", "Is it legal for my tenant to open my mail?",
     "person"),
    ("My landlord keeps ignoring my neighbor about the noise, what can I do?",
     "My neighbor keeps ignoring my landlord about the noise, what can I do?", "order"),
    # v9: the tense a question word's phrase takes; be/do before the same verb; openings;
    # operators named in prose; "the US"; objects past prepositions; "someone" fills a role
    ("Which language did Brazil speak?", "Which language does Brazil speak?", "tense"),
    ("How many people were living in Rome?", "How many people are living in Rome?", "tense"),
    ("How has inflation affected rents?", "How will inflation affect rents?", "tense"),
    ("My essay asks whether the ferry is crossing the lake at noon and how long it takes.",
     "My essay asks whether the ferry was crossing the lake at noon and how long it takes.",
     "tense"),
    ("Can a cat swim?", "Does a cat swim?", "modality"),
    ("What does the | operator do in Rust?", "What does the || operator do in Rust?", "code"),
    ("What does the ^ operator mean in Go?", "What does the xor operator mean in Go?", "code"),
    ("Which cities does the UK send flights to?", "Which cities send flights to the UK?",
     "order"),
    ("Which fish do sharks usually chase and catch?",
     "Which fish usually chase and catch sharks?", "order"),
    ("If I insult somebody, can they sue?", "If somebody insults me, can they sue?", "order"),
    # v10: "and" / "or", a particle "in" against "out", "out" against "inside", brackets
    ("Find rooms with a balcony and a sea view.", "Find rooms with a balcony or a sea view.",
     "connective"),
    ("How do I log in on Ubuntu?", "How do I log out on Ubuntu?", "direction"),
    ("My cat is shut out of the garage, help", "My cat is shut inside the garage, help",
     "direction"),
    ("Compute (10 - 4) / 2", "Compute 10 - 4 / 2", "symbols"),
    # v11: "can you" + a verb that is no request, the two sides of "be", prepositions that
    # do not meet, numbers that trade slots
    ("Can you freeze cooked pasta?", "Should you freeze cooked pasta?", "modality"),
    ("Could you drink seawater in an emergency?", "Must you drink seawater in an emergency?",
     "modality"),
    ("Is a whale a mammal?", "Is a mammal a whale?", "order"),
    ("Are all poodles dogs?", "Are all dogs poodles?", "order"),
    ("Which songs by Taylor Swift are the saddest?",
     "Which songs about Taylor Swift are the saddest?", "relation"),
    ("Find podcasts by my professor", "Find podcasts about my professor", "relation"),
    ("How do I calm down my dog about fireworks?", "How do I calm down my dog on fireworks?",
     "relation"),
    ("How do I migrate from Java 8 to Java 17?", "How do I migrate from Java 17 to Java 8?",
     "order"),
    ("What is 2 to the power of 10?", "What is 10 to the power of 2?", "order"),
    # v12: brackets that group otherwise; "before"/"after" as a pivot
    ("Simplify 12 / (6 / 2)", "Simplify (12 / 6) / 2", "symbols"),
    ("Work out 2 * (5 + 1)", "Work out (2 * 5) + 1", "symbols"),
    ("Do I put the primer on before the paint?", "Do I put the paint on before the primer?",
     "order"),
    ("Do I add the eggs after the flour?", "Do I add the flour after the eggs?", "order"),
    # v13: how many are asked for; where a thing stands; a relation word replaced (or a
    # phrasal verb's); a swap inside a "that" clause, with a word said twice, or of verbs
    # either side of a pivot; a capitalised noun of a name
    ("Who was the lead singer of Queen?", "Who were the lead singers of Queen?", "number"),
    ("Recommend a podcast about history", "Recommend podcasts about history", "number"),
    ("List one famous painting by Monet", "List famous paintings by Monet", "number"),
    ("Can I put a fridge next to an oven?", "Can I put a fridge above an oven?", "direction"),
    ("Should a shelf go behind the sofa?", "Should a shelf go beside the sofa?", "direction"),
    ("Write a speech against remote work", "Write a speech for remote work", "relation"),
    ("How do I get into Oxford?", "How do I get to Oxford?", "relation"),
    ("What should I do if I run into my ex?", "What should I do if I run to my ex?",
     "relation"),
    ("Should I tell my mom that my sister is lying?",
     "Should I tell my sister that my mom is lying?", "order"),
    ("If Brazil beat Spain 2-1, does Spain go through?",
     "If Spain beat Brazil 2-1, does Spain go through?", "order"),
    ("Do I run git add before git commit?", "Do I run git commit before git add?", "order"),
    ("What is the GDP of the City of Rome?", "What is the GDP of Rome?", "unaligned"),
    # v14: "whose" owns as "'s" does; a keyword in capitals is no quantifier; "over" is a
    # place of its own (covering)
    ("How do I ask the landlord whose house my dog damaged for a deal?",
     "How do I ask the landlord whose dog damaged my house for a deal?", "order"),
    ("What does SELECT ALL do?", "What does SELECT do?", "quantifier"),
    ("Can I hang a mirror over the sink?", "Can I hang a mirror beside the sink?",
     "direction"),
    # v15: a relative clause's subject against its object; a regex written bare is code
    ("Who is the painter that Picasso admired?", "Who is the painter that admired Picasso?",
     "order"),
    ("Name the player whom Messi replaced", "Name the player who replaced Messi", "order"),
    ("What does the pattern \\bcat\\b match?", "What does the pattern \\bcat match?", "code"),
    # v16: the same thing owned by someone else; a clause "whose" opens
    ("Can I use my grandpa's car to drive to work?", "Can I use my car to drive grandpa to work?",
     "owner"),
    ("The lease is in her name, can I stay?", "The lease is in my name, can I stay?", "owner"),
    ("List the cities whose mayors criticize them", "List the cities that criticize their mayors",
     "order"),
    # v17: a token no lexicon knows is not an inflection of a word WordNet has; "both" is
    # two
    ("What port does http use?", "What port does https use?", "unaligned"),
    ("Does this library support iOS?", "Does this library support io?", "unaligned"),
    ("How much does it cost to replace one tire?", "How much does it cost to replace both tires?",
     "quantifier"),
    # v18: one thing against every one, at balanced too
    ("How do I unsubscribe from an email list?", "How do I unsubscribe from all email lists?",
     "quantifier"),
    ("Can you proofread a paragraph of my essay?", "Can you proofread every paragraph of my essay?",
     "quantifier"),
    # v19: the two sides of "then" are steps in order
    ("Should I water the plants and then fertilize them?",
     "Should I fertilize the plants and then water them?", "order"),
    # v20: a verb to come against one done; code's square brackets and braces; a noun that
    # names two things of one kind, neither its usual sense
    ("My lease has been renewed, can the rent go up?",
     "My lease is going to be renewed, can the rent go up?", "tense"),
    ("Our flight has been cancelled, what are our rights?",
     "Our flight will be cancelled, what are our rights?", "tense"),
    ("Why does sorted(xs, key=len) differ from sorted([xs])?",
     "Why does sorted(xs, key=len) differ from sorted(xs)?", "symbols"),
    ("What does const { a } = obj do?", "What does const a = obj do?", "symbols"),
    ("Where can I park my bike downtown?", "Where can I park my motorcycle downtown?",
     "unaligned"),
    # v21: courtesy inside a sentence or inside quotes is what is asked about
    ("How do I say 'sorry to bother you' in Korean?", "How do I say 'sorry' in Korean?",
     "quoted"),
    ("good morning in japanese?", "in japanese?", "unaligned"),
    ("What is a good morning routine for runners?", "What is a morning routine for runners?",
     "unaligned"),
    # v22: a phrasal verb against its verb with another particle; one done against one to
    # come keeps its tense (a past form is not folded)
    ("How do I turn down the thermostat?", "How do I turn up the thermostat?", "direction"),
    ("How do I look up a word in a dictionary?", "How do I look at a word in a dictionary?",
     "unaligned"),
    ("She will figure out the answer, right?", "She figured out the answer, right?", "tense"),
    # v22: a light verb put in another's place; words traded across an "if"
    ("How long does it take for caffeine to start working?",
     "How long does caffeine keep working?", "unaligned"),
    ("What can a buyer do if the seller cancels the deal?",
     "What can a seller do if the buyer cancels the deal?", "order"),
    ("What happens to a borrower if the lender goes bankrupt?",
     "What happens to a lender if the borrower goes bankrupt?", "order"),
    # v23: two words that trade sentences; a minus before a name; another task than the
    # request verb's
    ("My sister keeps borrowing money from me and never pays it back. How do I bring it up "
     "without upsetting my mom?",
     "My mom keeps borrowing money from me and never pays it back. How do I bring it up "
     "without upsetting my sister?", "order"),
    ("What is cos(-x) in terms of cos(x)?", "What is cos(x) in terms of cos(x)?", "symbols"),
    ("Solve f(x) = -x + 3 for x", "Solve f(x) = x + 3 for x", "symbols"),
    ("Explain the chain rule", "Prove the chain rule", "unaligned"),
    ("Describe the water cycle", "Draw the water cycle", "unaligned"),
    # v24: a swap inside a condition, with a person, still counts when the condition moves
    ("If I hit a cyclist, who pays for the damage?",
     "If a cyclist hits me, who pays for the damage?", "order"),
    ("If my landlord insults my neighbor, can I sue?",
     "Can I sue if my neighbor insults my landlord?", "order"),
    # v25: negations in two clauses do not cancel; a word said twice is two words
    ("Which spices should I use in chili, and why do they taste good in it?",
     "Which spices should I not use in chili, and why don't they taste good in it?",
     "negation"),
    ("My sister lives in Paris and I live in Rome. How long is the train from Rome to Paris?",
     "My sister lives in Paris and I live in Rome. How long is the train from Paris to Rome?",
     "order"),
    # v26: a capital "A" inside a clause names; assignments in another order; the asker
    # passive in one prompt, active in the other
    ("Is a grade A student eligible if the class is graded B?",
     "Is a grade B student eligible if the class is graded A?", "order"),
    ("After a = 3; a *= 2; a += 1, what is a?", "After a = 3; a += 2; a *= 1, what is a?",
     "symbols"),
    ("Can I be paid overtime on a salary?", "Can I pay overtime on a salary?", "order"),
    ("Can I be reimbursed by my employer for a home office?",
     "Can I reimburse my employer for a home office?", "order"),
    # v27: a number fills a role as a word does; a verb's particle on one side only
    ("How do I transfer my 403b into a Roth IRA?", "How do I transfer my Roth IRA into a 403b?",
     "order"),
    ("Can I rent out my spare room in London?", "Can I rent a spare room in London?",
     "direction"),
    # v28: a colon with no space either side is code's (a slice), compared in order
    ("What does s[2:] return for s = 'hello'?", "What does s[:2] return for s = 'hello'?",
     "symbols"),  # v30: the run "w[w:]" (before, numbers_moved: "order")
    ("what does xs[1:] print for xs = [1, 2, 3]", "what does xs[:1] print for xs = [1, 2, 3]",
     "symbols"),
    # v29: a misspelling needs a word no dictionary knows, with the first letter kept
    ("How do I back up my iphone?", "How do I back up my phone?", "unaligned"),
    # v29: "have" as the verb of having keeps its tense; signs glued in code keep their order
    ("Is it normal to feel tired if I have the flu?",
     "Is it normal to feel tired if I had the flu?", "tense"),
    ("What does [^0-9] match in a regex?", "What does ^[0-9] match in a regex?", "symbols"),
    # v30: "good" stands alone only before the noun asked for, never as what is asked
    ("Is it better to rent or buy a house?", "Is it cheaper to rent or buy a house?",
     "unaligned"),
    ("Is running good exercise for dogs?", "Is running exercise for dogs?", "unaligned"),
    # v30: "vs" stands for "the difference between", not for what else is asked
    ("whats the difference between tcp and udp", "tcp vs udp which is faster", "unaligned"),
    # v30: two nouns the other way round; numbers before other nouns; a slice of a quoted
    # string; code's trailing comma
    ("what is a house cat", "what is a cat house", "order"),
    ("how do i make chocolate milk at home", "how do i make milk chocolate at home", "order"),
    ("Can I run a 12V pump from a 24V battery?", "Can I run a 24V pump from a 12V battery?",
     "order"),
    ("what does print('hello'[2:]) show", "what does print('hello'[:2]) show", "symbols"),
    ("y = 7,\nprint(len(y))\nwhat happens", "y = 7\nprint(len(y))\nwhat happens", "symbols"),
    # v31: two words of direction before one noun; a word of direction is a relation
    ("Can a cyclist ride across the bridge?", "Can a cyclist ride under the bridge?",
     "direction"),
    ("What is 30% off 90 dollars?", "What is 30% of 90 dollars?", "relation"),
    # v32: every preposition of place introduces its noun; a bounding time against another
    # preposition; "about" a topic is not "to" someone
    ("How do I clean the mold on my window frame?",
     "How do I clean the mold behind my window frame?", "direction"),
    ("how to list the tables created in a migration",
     "how to list the tables created since a migration", "relation"),
    ("what should I write to my landlord", "what should I write about my landlord", "relation"),
    # v33: a quote keeps its spaces; the names of a glued run keep their order
    ("what does print(len('abc ')) output", "what does print(len('abc')) output", "quoted"),
    ("show the date as MM/DD/YYYY in javascript", "show the date as DD/MM/YYYY in javascript",
     "order"),
    # v34: a short word's case; "using" holds roles apart; a fronted phrase keeps its words'
    # roles; "by" a named doer is not "by whom"
    ("In strftime, what does %H give?", "In strftime, what does %h give?", "cased"),
    ("What does the symbol Pa stand for in physics?",
     "What does the symbol PA stand for in physics?", "cased"),
    ("how do I simulate a die using a coin?", "how do I simulate a coin using a die?", "order"),
    ("From Chicago, how do I get to Boston?", "From Boston, how do I get to Chicago?", "order"),
    ("Who was defeated by Napoleon at Austerlitz?", "Who defeated Napoleon at Austerlitz?",
     "tense"),
    # v35: two units in their first senses only; "in" against "outside" / "out of"; a
    # compound's noun traded; the number "of" takes; what is said is no courtesy
    ("Express 3 hours in minutes.", "Express 3 hours in seconds.", "unaligned"),
    ("Should I keep bread in the fridge?", "Should I keep bread outside the fridge?",
     "direction"),
    ("is it safe to leave a cat in its carrier overnight",
     "is it safe to leave a cat out of its carrier overnight", "direction"),
    ("What if I put salt in a sugar jar?", "What if I put sugar in a salt jar?", "order"),
    ("What is 15% of 60?", "60 is 15% of what?", "order"),
    ("How do I say thank you in French?", "How do I say hello in French?", "unaligned"),
    # v36: a quote inside brackets is code; "go with" is not "go on"
    ("Is {'id': 7} valid JSON?", 'Is {"id": 7} valid JSON?', "quoted"),
    ("What wine goes with steak?", "What wine goes on steak?", "relation"),
    # v37: negations on either side of "and"/"or"/"nor" do not cancel; a lower-case "a"
    # that names; a plural that is a word of its own; inclusive bounds; a share against a
    # plain number; what a function returns, one against several
    ("My phone is not charging and will not turn on, why?",
     "My phone is charging and will turn on, why?", "negation"),
    ("Is neither option safe for kids?", "Are both options safe for kids?", "negation"),
    ("copy column a to column b in excel", "copy column b to column a in excel", "order"),
    ("how do I merge branch a into branch b", "how do I merge branch b into branch a", "order"),
    ("How do I wash clothes by hand?", "How do I wash cloth by hand?", "unaligned"),
    ("Where can I buy cheap spectacles?", "Where can I buy a cheap spectacle?", "unaligned"),
    ("Do seniors 65 and older ride the bus free?", "Do seniors older than 65 ride the bus free?",
     "bound"),
    ("Can I carry up to 2 liters of liquid?", "Can I carry 2 liters of liquid?", "bound"),
    ("Is it free for kids under 6?", "Is it free for kids 6 or under?", "bound"),
    ("What is 80 reduced by 25%?", "What is 80 reduced by 25?", "numbers"),
    ("Write a SQL query that returns the name of the oldest employee",
     "Write a SQL query that returns the names of the oldest employees", "number"),
    ("buy 2 get 1 free, what is the discount", "buy 2 get 2 free, what is the discount", "numbers"),
    ("Can I get a one-month refund?", "can I get a 2 month refund?", "numbers"),
    # v38: numbers traded past a measure word; "which" asks for one or several; converse
    # verbs; a kind of statistic
    ("Can I plug a 10 watt bulb into a 40 watt lamp?",
     "Can I plug a 40 watt bulb into a 10 watt lamp?", "order"),
    ("Which planet has the most moons?", "Which planets have the most moons?", "number"),
    ("What's the highest-paid job in tech?", "What are the highest-paid jobs in tech?",
     "number"),
    ("Can my brother lend me his car?", "Can my brother borrow me his car?", "antonym"),
    ("How long does teaching piano take?", "How long does learning piano take?", "unaligned"),
    ("Is the median wage in Texas rising?", "Is the average wage in Texas rising?",
     "unaligned"),
    # v39: an abbreviation meets only the words it stands for
    ("how do I read a file in JS", "how do I read a file in TypeScript", "unaligned"),
    ("Is the UK bigger than the US?", "Is the United States bigger than the United Kingdom?",
     "order"),
    # v40: "back" is a direction (not the body's, nor "back it up")
    ("how do I scroll back one page in vim", "how do I scroll forward one page in vim",
     "direction"),
    # v41: light verbs whose doers differ at a prompt's edge; "per" against another
    # preposition; a plural after a determiner's noun is a noun; a noun meets no word in a
    # verb sense only
    ("how to read a CSV file in Go", "how to write a CSV file in Go", "unaligned"),
    ("how do I send a parcel with DHL", "how do I receive a parcel with DHL", "unaligned"),
    ("average salary per department in SQL", "average salary across all departments in SQL",
     "quantifier"),
    ("how to repair my fence posts", "how to repair my fence", "unaligned"),
    ("How do I calculate the number of sales per region in Excel?",
     "How do I calculate the total sales amount per region in Excel?", "unaligned"),
    # v43: a light verb without a doer where the rest is word for word the same; a light
    # verb against a question that defines a kind
    ("How do I get the text of an input in React?",
     "How do I set the text of an input in React?", "unaligned"),
    ("What is a sourdough starter?", "How do I make a sourdough starter?", "unaligned"),
    # v44: "how long" meets a period of time, but not a clock's "what time"
    ("How long is the flight to Rome?", "What time is the flight to Rome?", "unaligned"),
    # v45: a third-person light verb that ends a prompt after a noun says what it does
    ("what is the story of the sun also rises", "what is the story of the sun", "unaligned"),
    # v46: two words traded in place across a word that stays between them
    ("can I plug a 12v adapter into a device that shipped with a 9v one",
     "can I plug a 9v adapter into a device that shipped with a 12v one", "order"),
    # v47: runs of words traded in place in prompts otherwise written the same; two nouns
    # that meet only through a verb
    ("how much is 20 us dollars in mexican pesos",
     "how much is 20 mexican pesos in us dollars", "order"),
    ("how do I negotiate a raise", "how do I negotiate a promotion", "unaligned"),
    # v48: an auxiliary after an article is a noun; two "how" questions that ask for
    # different measures (at balanced too)
    ("does rust have a do while loop", "does rust have a while loop", "unaligned"),
    ("how deep is the grand canyon", "how wide is the grand canyon", "unaligned"),
    ("how long is the flight to lisbon", "how far is the flight to lisbon", "unaligned"),
    # v49: ordinals in words past "tenth"; amounts compared in one unit per quantity
    ("what was the 18th amendment", "what was the nineteenth amendment", "numbers"),
    ("is 2 weeks notice enough", "is 14 hours notice enough", "numbers"),
    ("convert 1000 g to kg", "convert 1 kg to g", "units"),
    # v50: a chat filler is what is asked about inside a sentence or after a request verb
    ("how do i stop saying um when presenting", "how do i stop saying like when presenting",
     "unaligned"),
    ("define lol", "define ngl", "unaligned"),
    ("whats the meaning of tbh", "whats the meaning of ngl", "unaligned"),
    # v51: only the two sides of "vs" / "between … and" are put in one order
    ("what happens when the moon passes between the earth and the sun",
     "what happens when the earth passes between the moon and the sun", "order"),
    ("is rust faster than go, whats the difference", "is go faster than rust, whats the difference",
     "order"),
    # v52: an emoji that may be what is asked about stays
    ("what does 🍩 mean", "what does 🥯 mean", "symbols"),
    ("i love 🍩", "i love 🥯", "symbols"),
    ("🍩 how many calories in one", "🥯 how many calories in one", "symbols"),
    ("what is 12 + 5 = ?", "what is 12 + 6 = ?", "numbers"),
    # v54: "you" in a role; roles traded inside "if" clauses; a phrasal verb at the edge;
    # an adjective cluster through a rare sense of its head (at balanced)
    ("what to do when your puppy licks you", "what to do when you lick your puppy", "order"),
    ("what should i do if my coworker yells at me", "what should i do if i yell at my coworker",
     "order"),
    ("how to start a campfire", "how to put out a campfire", "unaligned"),
    ("how long to bake kale chips until crispy", "how long to bake kale chips until tender",
     "unaligned"),
    # v55: the subject after a question word's modal
    ("what causes kidney stones", "what can kidney stones cause", "order"),
    # v56: "most" before an adjective is its degree; "every" before anything but a period
    # still counts
    ("which city is the most expensive to live in", "which city is more expensive to live in",
     "comparison"),
    ("does every employee get a bonus", "does any employee get a bonus", "quantifier"),
    # v57: a preposition left at the end in one prompt takes an object in the other
    ("which countries can send money to someone living in cuba",
     "which countries can someone living in cuba send money to", "order"),
    # v58: a subject after do-support with a phrase of its own; two things traded across
    # "not"
    ("what does overfishing in the north sea cause", "what causes overfishing in the north sea",
     "order"),
    ("my floor is vinyl plank, not laminate. how do i clean it",
     "my floor is laminate, not vinyl plank. how do i clean it", "order"),
    # v59: what a by-whom question says was acted on is the doer in the other (these two
    # were served before: v34 excused the tense and no role rule looked)
    ("who was betrayed by judas", "by whom was judas betrayed", "order"),
    ("who did judas betray", "who was judas betrayed by", "order"),
    # v60: a negation in another clause of the same clauses
    ("why does my phone charge in the car but not at home",
     "why doesn't my phone charge in the car but does at home", "negation"),
    # v61: a passive's doer made the active's object; the verbs a statement negates traded
    ("my son was hurt by a classmate, what should i do",
     "my son hurt a classmate, what should i do", "order"),
    ("my app builds locally but the lint checks don't pass on github",
     "my app doesn't build locally but the lint checks pass on github", "negation"),
    ("the heater turns on but the fan won't spin, what's wrong",
     "the heater won't turn on but the fan spins, what's wrong", "negation"),
    # v62: "what is" and a bare noun phrase defines a kind too
    ("what is buttermilk", "what can i make with buttermilk", "unaligned"),
    # v63: chat shorthand with a slash is its word
    ("how do i make pasta w/ garlic", "how do i make pasta w/o garlic", "negation"),
    ("Right or left, which side do cars drive on in Japan?",
     "Left or right, which side do cars drive on in Japan?", "order"),
    # v64: the same person before a verb passive in one, active in the other, in a statement
    ("i was side-swiped on the highway, who pays", "i side-swiped someone on the highway, who pays",
     "order"),
    ("I was hit at a crosswalk, can I sue", "I hit someone at a crosswalk, can I sue", "order"),
    # v65: a relation made inclusive; what "all" ranges over said after the other's "all"
    ("list invoices due before march 3", "list invoices due on or before march 3", "bound"),
    # v66: a typo is read as a closed-class word only when it is one; "int" is not "into"
    ("how long shoud i steep green tea", "how long shoud i steep black tea", "unaligned"),
    ("java string to int conversion", "java string to long conversion", "unaligned"),
    # v67: the word named stays; "the German word for" is no name of a word
    ("what does the word 'sanguine' mean", "what does the word 'saturnine' mean", "quoted"),
    ("what's the German word for umbrella", "what does umbrella mean in German", "unaligned"),
    # v68: only "capital city" is the capital
    ("what is the capital city of Peru", "what is the largest city of Peru", "unaligned"),
    # v69: "latest" is the last, not the first; "last" the verb is no ordinal
    ("show me the latest version of numpy", "show me the first version of numpy", "numbers"),
    ("how long does cooked quinoa last", "how long does the last cooked quinoa keep", "numbers"),
    # v70: an adjective as often as a verb before a noun narrows; a person after the same
    # verb; a model's letter; where a gap to fill stands
    ("cafes in Lisbon", "open cafes in Lisbon", "unaligned"),
    ("how do i add someone to a slack channel", "how do i add myself to a slack channel", "person"),
    ("does the pixel 7 support esim", "does the pixel 7a support esim", "numbers"),
    ("fill the blank: the cat ___ on the mat", "fill the blank: the ___ cat on the mat", "order"),
    # v71: a verb had done by someone else, or done by the asker
    ("how can i get my boss to apologize", "how can i apologize to my boss", "order"),
    ("how do i make my husband listen", "how do i listen to my husband", "order"),
    # v73: a name called in one prompt only; a sign between spaces where a noun goes
    ("why does this fail: x = len(items) print(x)", "why does this fail: x = len(items) print x",
     "code"),
    ("what does ?? mean in c#", "what does ? mean in c#", "symbols"),
    # v72: the verb had done done to the asker; how many against each, at balanced too
    ("how do i forgive my sister for lying", "how do i get my sister to forgive me for lying",
     "order"),
    ("how many planets are in the solar system",
     "what is each planet in the solar system made of", "quantifier"),
    ("do all senators serve six year terms",
     "are all politicians who serve six year terms senators", "order"),
    # v74: quantities read alike still differ by value, unit and sign
    ("it costs 5 million dollars", "it costs 5 thousand dollars", "numbers"),
    ("what should i pack if it drops to minus fifteen degrees",
     "what should i pack if it drops to fifteen degrees", "numbers"),
    ("what is 7 minus 3", "what is 7 minus -3", "numbers"),
    ("What happened on September 11th, 2001?", "What happened on September 12th, 2001?",
     "numbers"),
    ("Is 120 mph fast for a train?", "Is 120 kilometres per hour fast for a train?", "numbers"),
    ("how wide is a board 12 in wide in cm", "how wide is a board 12 ft wide in cm", "numbers"),
    ("is £90 a lot for a haircut", "is $90 a lot for a haircut", "numbers"),
    # v75: an act prevented against the same act brought about
    ("how to put a mac to sleep from terminal", "how to keep a mac from sleeping from terminal",
     "negation"),
    ("how do i make my dog bark", "how do i stop my dog from barking", "negation"),
    ("how do i get my toddler to sleep", "how do i get my toddler to stop sleeping", "negation"),
    # v76: a verb's form inside a noun WordNet lists ("capital_gain") is that noun's
    ("what is the capital gains tax rate", "what is the capital tax rate", "unaligned"),
    ("how is capital gains taxed", "how is capital taxed", "unaligned"),
    # v76: whether one may, against how one does
    ("can dogs eat grapes", "how do dogs eat grapes", "modality"),
    ("can i eat raw eggs", "how do i eat raw eggs", "modality"),
    ("can anyone become president", "how do you become president", "modality"),
    # v77: a title told apart by its article
    ("who wrote invisible man", "who wrote the invisible man", "quoted"),
    # v78: a noun never seen as a verb is the subject after the modal; "the city of" a name
    ("what causes gum disease", "what can gum disease cause", "order"),
    ("what is the population of the city of london", "what is the population of london",
     "unaligned"),
    ("how big is the island of hawaii", "how big is hawaii", "unaligned"),
    # v79: a named thing meets another noun in its first sense only
    ("how many countries are in europe", "how many countries are in the eu", "unaligned"),
    # v80: a word of a name WordNet lists whole is no typo of a closed-class word
    ("how to start a fast for yom kippur", "how to break a fast after yom kippur", "relation"),
    ("how to fast for yom kippur", "how to fast after yom kippur", "relation"),
    # v81: a preposition in capitals beside another capital word is a keyword's word
    ("what does DISTINCT do in postgres", "what does DISTINCT ON do in postgres", "unaligned"),
    ("what does INSERT do in sql", "what does INSERT INTO do in sql", "unaligned"),
    # v82: a count against the names; a late untagged sense; "someone" had do it
    ("how many olympian gods are there", "list the olympian gods", "question"),
    ("how many gospels are in the new testament",
     "what are the gospels in the new testament called", "question"),
    ("how many tables are in my database", "name the tables in my database", "question"),
    ("can i put a wool blanket in the dryer", "can i put a fleece blanket in the dryer",
     "unaligned"),
    ("what are the risks of cosigning a loan for someone",
     "what are the risks of having someone cosign my loan", "order"),
    ("how can i make someone laugh", "how can i laugh with someone", "order"),
    # v83: "from" left out after the object of "stop"; a prefix joined by a hyphen
    ("how to stop a child component re-rendering when the parent renders",
     "how to force a child component to re-render when the parent renders", "negation"),
    ("how do i stop my dog barking at night", "how do i make my dog bark at night",
     "negation"),
    # v84: a word that crosses a sign
    ("what does const int* mean", "what does int* const mean", "order"),
    ("what does a -> b mean in haskell", "what does b -> a mean in haskell", "order"),
    # v85: "into" pivots as "to" does
    ("how to convert a pivot table back to a normal range",
     "how to turn a normal range into a pivot table", "order"),
    ("how do i convert a word document to a pdf", "how do i turn a pdf into a word document",
     "order"),
    # v86: two "-ing" forms do not meet through their stems' nouns only
    ("postgres: strip leading whitespace from a column",
     "postgres: strip trailing whitespace from a column", "unaligned"),
    # v87: whether with "do" against how; how many against which ones are there
    ("do i need a permit to replace my water heater",
     "how do i get a permit to replace my water heater", "modality"),
    ("does my dog need a rabies shot every year",
     "how does my dog get a rabies shot every year", "modality"),
    ("how many cards are in an uno deck", "what cards are in an uno deck", "question"),
    ("which players are on the starting lineup", "how many players are on the starting lineup",
     "question"),
    # v88: a sign between words of one letter, or bitwise not, stays a sign; "x+5" is x + 5
    ("what is a + b squared", "what is a and b squared", "symbols"),
    ("what is ~5 in python", "what is 5 in python", "symbols"),
    ("what does ctrl+c do in a terminal", "what does ctrl+v do in a terminal", "unaligned"),
    ("solve 2x+5=17", "solve 2x+5=19", "numbers"),
    ("what is (3 + 4) * 2", "what is 3 + 4 * 2", "symbols"),
    # v88: "one" of two units; an act prevented against one done, to be mended
    ("how many grams is one tablespoon of ground coffee",
     "how many grams is one teaspoon of ground coffee", "numbers"),
    ("how to stop wood splitting when driving screws",
     "how to fix wood that split when driving screws", "negation"),
    ("how do i stop pipes bursting in winter", "how do i fix pipes that burst in winter",
     "negation"),
    # v89: a verb's "someone" left out; a regex quantifier made lazy
    ("tips for interviewing for a volunteer position",
     "tips for interviewing someone for a volunteer position", "person"),
    ("how to train for a marathon", "how to train someone for a marathon", "person"),
    ("what does .* mean in regex", "what does .*? mean in regex", "symbols"),
    ("what does a+ match in regex", "what does a+? match in regex", "symbols"),
    # v90: counts in words traded; a genotype's case; the thing asked for traded
    ("how to connect two bluetooth speakers to one phone",
     "how to connect one bluetooth speaker to two phones", "order"),
    ("in a cross between Aa and Aa what fraction of offspring are aa",
     "in a cross between Aa and aa what fraction of offspring are aa", "cased"),
    ("find the index of an element in a list with linq",
     "find the element at an index in a list with linq", "order"),
    # v91: the same swaps whichever prompt comes first, "to" before a noun still a pivot
    ("python convert list to set", "python convert set to list", "order"),
    ("how long to drive from boston to nyc", "how long to drive from nyc to boston", "order"),
    ("how to switch from vim to emacs", "how to switch from emacs to vim", "order"),
    # v92: quotes beside an operator make a string literal, never incidental
    ("what does '7' + 1 give in javascript", "what does 7 + '1' give in javascript", "quoted"),
    ("in python is y = '12' a string", "in python is y = 12 a string", "quoted"),
    # v93: one against several; the whole of a thing against a part of it
    ("how do i hide one column in google sheets",
     "how do i hide several columns in google sheets", "quantifier"),
    ("how to return one value from a function in go",
     "how to return multiple values from a function in go", "quantifier"),
    ("can you proofread my essay introduction", "can you proofread my entire essay",
     "quantifier"),
    # v94: formats traded around "from … to", a value stepped over a number, "only" moved,
    # a possessive no longer hides a verb put in another's place, a side sense of two nouns
    ("convert a date from MM/DD/YY to YY/MM/DD", "convert a date from YY/MM/DD to MM/DD/YY",
     "order"),
    ("what does flex: 1 auto mean in css", "what does flex: auto 1 mean in css", "order"),
    ("should i water only the tomatoes in the morning",
     "should i water the tomatoes only in the morning", "quantifier"),
    ("how do i give the app access to my camera",
     "how do i remove the app's access to my camera", "unaligned"),
    ("what is the charge of a helium atom", "what is the charge of a helium molecule",
     "unaligned"),
    # v95: how much or how many against a yes/no question
    ("is there a fee to cancel my gym membership",
     "how much is the fee to cancel my gym membership", "question"),
    ("does a passport renewal cost a lot", "how much does a passport renewal cost", "question"),
    # v96: a Rust lifetime is a name; a plural WordNet also lists as someone's name
    ("does 'a outlive 'b in this function", "does 'b outlive 'a in this function", "order"),
    ("how do I see what scopes my token has", "how do I change what scopes my token has",
     "unaligned"),
    # v97: "for" or "to" against "from" after one word
    ("can I use store credit for online orders", "can I get store credit from online orders",
     "direction"),
    ("what should I write in a thank you card for my teacher",
     "what should I write in a thank you card from my teacher", "direction"),
    # v99: a negation in capitals is still one
    ("should I NOT water succulents in winter", "should I water succulents in winter",
     "negation"),
    # v100: a noun asked about against a light verb asked with "how do you"
    ("what are the signs of an eczema flare on my hands",
     "how do you treat an eczema flare on my hands", "unaligned"),
    # v101: the opening question word; "one" against "both" beside another number; a
    # negation moved into the "when" clause
    ("Who signs the lease renewal when renting an apartment in Ohio?",
     "When is the lease renewal signed when renting an apartment in Ohio?", "question"),
    ("my 6 year old has a rash on one arm, is it eczema?",
     "my 6 year old has a rash on both arms, is it eczema?", "quantifier"),
    ("why does my build not fail when I delete the lockfile",
     "why does my build fail when I do not delete the lockfile", "negation"),
    # v102: a number a time bound introduces, another preposition in the other prompt
    ("which movies came out before 1990", "which movies came out in 1990", "relation"),
]  # fmt: skip

LONG = (
    "I am planning a two week trip through the north of Italy in late spring with my partner "
    "and we would like to visit small towns, eat well, avoid crowded places and travel by train "
    "as much as we can, so what route would you suggest for a relaxed {} itinerary?"
)

PARAPHRASES = [
    ("How many legs does a spider have?", "how many legs do spiders have"),
    ("Give me three ideas for a birthday party", "Give me 3 ideas for a birthday party"),
    ("Can you explain how vaccines work?", "Explain how vaccines work"),
    ("Could you please tell me the height of Mount Fuji?", "What is the height of Mount Fuji?"),
    ("What's the height of Mount Fuji?", "What is Mount Fuji's height?"),
    ("How do I fix a flat tire on my car?", "How do I repair a flat tire on my automobile?"),
    ("u know how to make pancakes?", "do you know how to make pancakes?"),
    ("whats the best way to learn guitar", "What is the best way to learn guitar?"),
    ("Which river is the longest in Africa?", "What river is the longest in Africa?"),
    ("Meet me at 3pm", "Meet me at 15:00"),
    ("Is it safe to drink tap water in Lisbon?", "Is it safe to drink the tap water in Lisbon?"),
    ("How could I drink water safely on a hike?", "How do I drink water safely on a hike?"),
    ("Who invented the printing press?", "Who was the inventor of the printing press?"),
    ("I can't sleep at night, any tips?", "I cannot sleep at night, any tips?"),
    ("Summarize the novel Dune", "Give me a summary of the novel Dune"),
    ("How do I start a compost pile?", "How do I begin a compost pile?"),
    # v2: details present in one prompt only, numbers with units, wrappers
    ("How far is 5 kilometers in miles?", "how far is five km in miles"),
    ("How do I stop snoring?", "any tips to stop snoring"),
    ("Is it safe to eat raw eggs?", "can i safely eat raw eggs"),
    ("Why is the sea salty?", "what makes the sea salty"),
    ("I spent about $20k on my car", "I spent about 20,000 dollars on my car"),
    ("Can you explain what 'serendipity' means?", "explain what serendipity means"),
    ("Who wrote Moby Dick?", "Who is the author of Moby Dick?"),
    # v3: prose punctuation is no operator, permission said two ways, a clause per question
    ("salt & pepper steak recipe", "salt and pepper steak recipe"),
    ("What is 2+2?", "what is 2 + 2"),
    ("How do I set up Wi-Fi on a Kindle?", "how do i set up wi-fi on my kindle"),
    ("Am I allowed to park here overnight?", "Can I park here overnight?"),
    (
        "Do I need to wear a helmet on an e-scooter?",
        "Am I required to wear a helmet on an e-scooter?",
    ),
    ("Is it forbidden to feed the ducks?", "Is it not allowed to feed the ducks?"),
    ("Can my kid eat honey?", "Can my child eat honey?"),
    (
        "Laptop keeps freezing - what should I do?",
        "What should I do when my laptop keeps freezing?",
    ),
    (
        "What's the difference between a crocodile and an alligator?",
        "alligator vs crocodile - what's the difference",
    ),
    # v4: a unit said on one side only; the same actor said the same way
    ("I pay $1,200 a month in rent, is that a lot?", "i pay 1200 a month in rent, is that a lot"),
    (
        "My neighbor parks in my spot every day. What can I do?",
        "my neighbor parks in my spot every day, what can i do",
    ),
    ("All of my plants have yellow leaves, why?", "why do all of my plants have yellow leaves"),
    # v5: a dash between numbers is no sign; a noun phrase before a noun is no actor
    ("Read pages 10-20 for homework", "read pages 10-20 for homework"),
    ("Suggest a good travel backpack", "what's a good backpack for travel?"),
    ("What does a plumber charge per hour?", "how much does a plumber charge an hour"),
    ("What does 'hygge' mean?", "meaning of hygge"),
    ("What year did the Titanic sink?", "when did the titanic sink"),
    ("What city is the Louvre in?", "where is the louvre"),
    ("WHAT IS THE BOILING POINT OF WATER?", "what is the boiling point of water"),
    ("Which foods do cats like?", "what foods do cats like"),
    (
        "How do I add my wife's name to my car insurance?",
        "how to add my wife's name to my car insurance",
    ),
    # v9: modals after a question word are idiom; a passive agent is no object; "the us"
    ("How can I renew my passport?", "How do I renew my passport?"),
    ("How do bees make honey?", "How is honey made by bees?"),
    ("What is the sales tax in the US?", "what is the sales tax in the us"),
    ("Can you explain how a loan works?", "how does a loan work"),
    # v10: "in" as a place stays content; a year in brackets on both sides
    ("What's new in Python 3.12?", "what is new in python 3.12"),
    ("Plot of Inception (2010)?", "plot of inception (2010)"),
    # v11: a request opened with "can you"; "on"/"about" after a book or tips; "by" a
    # means, not an agent; numbers that move with their words
    ("Can you recommend a thriller?", "Recommend a thriller"),
    ("Can you please explain inflation?", "explain inflation"),
    ("Any good books on the Roman Empire?", "any good books about the roman empire"),
    ("Give me tips on public speaking", "give me tips about public speaking"),
    ("How do I sort a list by length in Python?", "how do i sort a list on length in python"),
    ("Is a tomato a fruit?", "is a tomato a fruit"),
    (
        "Should I pick a 15-year or a 30-year mortgage?",
        "Should I pick a 30-year or a 15-year mortgage?",
    ),
    # v12: the same expression spaced otherwise; "before" with its words kept in order
    ("What is (3 + 4) * 2?", "what's (3+4)*2"),
    ("Should I eat before a workout?", "should i eat something before working out"),
    # v13: a kind defined is not a count; a topic's number; loose relation words
    ("What is a neutron star?", "Explain neutron stars"),
    ("Tell me a joke about dogs", "tell me a dog joke"),
    ("Translate 'thank you' into Spanish", "Translate 'thank you' to Spanish"),
    ("What is the chemical formula for water?", "What's the chemical formula of water?"),
    ("What is the tallest building on Earth?", "What is the tallest building in the world?"),
    # v14: "until" and "till" are one word
    ("How many days until Christmas?", "how many days till christmas"),
    # v15: "that" and "who" open the same relative clause
    ("Who is the author that wrote Dune?", "who is the author who wrote dune"),
    # v16: a third-person determiner may stand for a noun; "your" is anyone's
    ("What should I get my dad for his birthday?", "what should i get for my dad's birthday"),
    ("How do I change my car's oil?", "how do you change your car's oil"),
    # v17: the plural of a token no lexicon knows
    ("How do GPUs speed up deep learning?", "how does a gpu speed up deep learning"),
    ("Can SSDs fail without warning?", "can ssd fail without warning"),
    # v20: present against future is not compared; a tagged noun sense and a spelling
    # variant still align; brackets on both sides
    ("What happens when my visa expires?", "What will happen when my visa expires?"),
    ("What is the largest lake in the world?", "What is the largest lake on Earth?"),
    ("Where is the centre of mass of a cone?", "where is the center of mass of a cone"),
    ("What does arr[0] return in Python?", "what does arr[0] return in python"),
    # v21: courtesy that asks nothing, at the start or the end of a sentence
    (
        "Hey, quick question: is it safe to eat raw cookie dough?",
        "Is it safe to eat raw cookie dough?",
    ),
    ("Sorry to bother you, but when does the pharmacy close?", "When does the pharmacy close?"),
    (
        "I was wondering if you could explain how a heat pump works. Much appreciated!",
        "How does a heat pump work?",
    ),
    ("Would you mind telling me when the museum opens? Cheers", "When does the museum open?"),
    (
        "Good morning! Sorry if this is a dumb question, but what is a mortgage?",
        "what is a mortgage",
    ),
    # v22: a phrasal verb WordNet lists is one word, with that word's synonyms
    ("How do I work out the volume of a cylinder?", "How do I calculate the volume of a cylinder?"),
    ("How can I politely turn down a job offer?", "How can I politely decline a job offer?"),
    # v22: a condition said first or last holds the same words
    (
        "If my flight is cancelled, does the airline owe me a refund?",
        "Does the airline owe me a refund if my flight is cancelled?",
    ),
    # v23: sentences said in another order; a request verb for another
    (
        "I have a 5 hour layover in Doha. Can I leave the airport?",
        "Can I leave the airport? I have a 5 hour layover in Doha.",
    ),
    ("Explain how vaccines work", "Show me how vaccines work"),
    # v24: a condition said first or last, with a person in it
    ("If I'm diabetic, can I eat mangoes?", "Can I eat mangoes if I'm diabetic?"),
    # v25: a negation in each of two clauses, on both sides
    (
        "I can't sleep at night, and I don't feel rested. What helps?",
        "I cannot sleep at night, and I do not feel rested. What helps?",
    ),
    # v26: passive against active is a change of role only for a person asking
    ("Is the library closed on Mondays?", "Does the library close on Mondays?"),
    # v28: a ratio written alike on both sides; a prose colon is punctuation
    ("What's the 16:9 resolution of 1080p?", "what is the 16:9 resolution of 1080p"),
    # v29: "get rid of" is one verb in its base form too; a word misspelt on one side
    ("How do I get rid of ants in my garden?", "How can I eliminate ants in my garden?"),
    ("How do I calibrate my monitor?", "how do i calibarte my monitor"),
    ("how do I cancel my spotify subscription", "how do i cancle my spotify subscription"),
    ("What should I eat if I have a cold?", "what to eat if i have a cold"),
    ("what does x[::-1] do in python", "in python what does x[::-1] do"),
    # v30: a request asks for good ones
    ("what are some good exercises for lower back pain", "which exercises help lower back pain"),
    (
        "Can you suggest some good names for a golden retriever?",
        "suggest some names for a golden retriever",
    ),
    # v30: two things set against each other with "vs" ask their difference
    ("What's the difference between a crocodile and an alligator?", "crocodile vs alligator?"),
    # v31: a word of direction in the sequence, said alike
    ("What is 30% off 90 dollars?", "whats 30% off $90"),
    # v32: "off" and "out of" both say where something is taken from
    ("how do i get wax off my carpet", "how do i get wax out of my carpet"),
    # v34: a word cut short, a number word before its unit, courtesy with a "not", the doer
    # asked "by whom", a phrase that opens the sentence
    ("how do I sort a dictionary by its keys in python", "python sort dict by keys"),
    ("how do I reload the nginx configuration", "how do I reload the nginx config"),
    (
        "we're going to Spain for ten days, what should we see",
        "we're going to Spain for 10 days, what should we see",
    ),
    ("what should I pack for a five-day hike", "what should I pack for a 5 day hike"),
    ("Please, if it's not too much trouble, explain how tides work.", "explain how tides work"),
    ("Quick question if you don't mind: how do tides work?", "how do tides work?"),
    ("Who discovered radium?", "Radium was discovered by whom?"),
    ("Who discovered radium?", "Who was radium discovered by?"),
    ("Using git, how do I undo the last commit?", "How do I undo the last commit using git?"),
    ("how much vitamin D should an adult take", "how much vitamin d should an adult take"),
    # v35: thanks as a sentence of its own or at the very end; "out of" and "from" both say
    # where from; "hrs" is "hours" still
    ("Thanks in advance! How do I descale a kettle?", "How do I descale a kettle?"),
    ("How do I ask for a day off? I really appreciate any help.", "How do I ask for a day off?"),
    ("how do I reset my router thx", "How do I reset my router? Thanks."),
    ("How do I get a grass stain out of jeans?", "How do I remove a grass stain from jeans?"),
    ("how many hours of sleep does a teen need", "how many hrs of sleep does a teen need"),
    ("how to say thank you in german", "what's thank you in german"),
    # v36: quotes outside brackets are prose; one act "with" or "on" a tool
    ("what does 'serendipity' mean", 'what does "serendipity" mean'),
    ("how do I sharpen scissors with a whetstone", "how do I sharpen scissors on a whetstone"),
    # v37: number words with a hyphen, closed compounds, "%" said for a whole list
    ("what is seventy-two divided by eight", "what is 72 divided by 8"),
    ("How often should I replace a toothbrush?", "How often should I replace a tooth brush?"),
    ("How do I connect my printer to wi-fi?", "How do I connect my printer to wifi?"),
    ("Are tips of 15, 18 and 20 percent normal?", "Are tips of 15%, 18% and 20% normal?"),
    ("Is it free for kids 5 and under?", "is it free for children 5 and under"),
    # v37: digits typed for words; "one" with a unit against "1" with it
    ("what is the best way to learn chess", "whats the best way 2 learn chess"),
    ("what is a good gift for my dad", "what is a good gift 4 my dad"),
    ("Can I get a one-month refund?", "can I get a 1 month refund?"),
    # v38: verbs whose doers share a name; numbers that keep their nouns
    ("How do I repair a leaking tap?", "How do I fix a leaking tap?"),
    (
        "Can I put a 20 amp breaker on a 12 gauge wire?",
        "can i put a 20 amp breaker on 12 gauge wire",
    ),
    # v39: "I need …" opens a request; abbreviations meet the words they stand for
    ("I need a packing list for a ski trip", "give me a packing list for a ski trip"),
    ("how do I read a file in TS", "how do I read a file in TypeScript"),
    ("cheapest way from SF to LA", "cheapest way from San Francisco to Los Angeles"),
    ("is AI going to replace programmers", "is artificial intelligence going to replace coders"),
    ("why does my lower back hurt after running", "why does my lower back ache after running"),
    # v41: light verbs before a person or an animal, or whose doers WordNet does not name
    ("how to train my dog to stop barking", "how can I get my dog to stop barking"),
    ("how do I remove a coffee stain from a rug", "how do I get a coffee stain out of a rug"),
    # v42: "good" after an article still praises the noun after it ("a *good* stretch")
    ("what's a good stretch for sore calves", "which stretch helps with sore calves"),
    # v43: "remove … from" / "get … out of": not word for word the same around the verbs
    ("how do i remove a stripped screw", "how do i get a stripped screw out"),
    ("What is a sourdough starter?", "explain what a sourdough starter is"),
    # v44: "how long" / a noun WordNet makes a period of time
    ("how long should I steep black tea", "black tea steeping time?"),
    # v48: two "how" questions for the same measure
    ("how big is lake superior", "how large is lake superior"),
    ("how fast can a cheetah run", "how quick is a cheetah"),
    # v49: ordinals in words; the same amount in two units of one system
    ("what happened in the 21st century", "what happened in the twenty-first century"),
    ("who was the thirtieth president", "who was the 30th president"),
    (
        "do I have to give 2 weeks notice before quitting",
        "do I have to give 14 days notice before quitting",
    ),
    ("is 1.8 m tall for a woman", "is 180 cm tall for a woman"),
    # v50: chat fillers that stand alone, one after another too
    ("so um basically how do i reset my router", "how do i reset my router"),
    ("real quick, who painted the mona lisa", "who painted the mona lisa"),
    ("how do i stop snoring lol", "how can i stop snoring"),
    ("i was just wondering, do octopuses have bones", "do octopuses have bones"),
    # v51: a difference is the same both ways round
    ("what's the difference between a hawk and a falcon", "falcon vs hawk, how are they different"),
    ("how do sheep and goats differ", "what is the difference between goats and sheep"),
    ("what is the distance between lyon and nice", "what is the distance between nice and lyon"),
    # v52: an emoji after a sentence or before a question, an "=" before a lone "?"
    ("can cats eat tuna?? 🐟🐱", "Can cats eat tuna?"),
    ("flat car tire 😩 how do i change it", "How do I change a flat car tire?"),
    ("what is 20% of 150 = ?", "what's 20% of 150"),
    # v54: the addressee "you" is still no person in a role
    ("how do you say thank you in french", "how do i say thank you in french"),
    # v55: a verb after the modal is no subject; nor a noun after "how should"
    ("what causes gout", "what can cause gout"),
    ("how should fresh basil be stored", "how should i store fresh basil"),
    # v56: a frequency said one way; "supposed to" is "should"; "more" / "most" + adjective
    ("how much coffee can i safely drink every day", "how much coffee can i safely drink per day"),
    ("am i supposed to tip movers", "should i tip movers"),
    ("tips for running faster", "how can i run more quickly"),
    # v57: a clause after a stranded preposition is no object of it
    (
        "what questions should i prepare for before an interview",
        "before an interview, what questions should i prepare for",
    ),
    # v58: a gerund with its object is no subject that a verb after it acts for
    ("how long does getting a work visa take", "how long does it take to get a work visa"),
    # v59: "by whom" opening a passive question asks the doer, as "who" with the active
    ("who discovered radium", "by whom was radium discovered"),
    (
        "which countries signed the kyoto protocol",
        "by which countries was the kyoto protocol signed",
    ),
    # v60: "and" between two nouns is no clause of its own
    ("why don't cats and dogs get along", "why do cats and dogs not get along"),
    # v62: a prompt that asks "what is" too may add how it works
    ("what is kombucha", "what is kombucha and how does it work"),
    ("what is tahini", "what's tahini?"),
    # v63: shorthand with a slash, fillers, a hope for help, "where is X located"
    ("can i take aspirin w/o food", "can i take aspirin without food"),
    ("umm so like how do i descale a kettle", "how do i descale a kettle"),
    ("hey, hoping someone can help: how do i descale a kettle", "how do i descale a kettle?"),
    ("Right, so how do I descale a kettle?", "how do i descale a kettle"),
    ("wats the best way to descale a kettle", "what's the best way to descale a kettle"),
    ("Where is Machu Picchu located?", "where's machu picchu"),
    ("you can descale a kettle with vinegar, right?", "can descale a kettle with vinegar right?"),
    # v64: a compound participle is passive after "was" and after "got" alike
    ("I was rear-ended yesterday, what now", "yesterday I got rear-ended, what now"),
    # v65: "all" moved inside its own phrase is no converse
    ("do cats all purr", "do all cats purr"),
    ("is the pool open on or after 9am", "is the pool open at or after 9am"),
    # v66: a typo of a closed-class or request word is that word
    ("whats teh best way to descale a kettle", "what is the best way to descale a kettle"),
    ("explian how to descale a kettle", "explain how to descale a kettle"),
    # v67: a word's name for itself, "short for", "the diff between", "ugh", wishes, "fr"
    ("what does the idiom 'spill the beans' mean", "what does 'spill the beans' mean"),
    ("meaning of the phrase bona fide?", "what does 'bona fide' mean"),
    ("what is NASA short for", "what does NASA stand for"),
    (
        "whats the diff between a crocodile and an alligator",
        "what's the difference between a crocodile and an alligator",
    ),
    ("ugh, how do i get gum out of hair", "how do i get gum out of hair"),
    ("Hi, I hope you are well! How do I get gum out of hair?", "how do i get gum out of hair"),
    ("how do i get gum out of hair fr", "how do i get gum out of hair"),
    # v68: a chat spelling opening a sentence in capitals; "thru"; "capital city"
    ("Whats the capital city of Mongolia", "what is the capital of mongolia?"),
    (
        "how do i get my puppy to sleep thru the night",
        "how do i get my puppy to sleep through the night",
    ),
    # v69: "most recent" and "the past" say "last"; "ok 2" is "ok to"
    ("how do i amend my last commit", "how do i amend the most recent commit"),
    (
        "what happened in the news over the last two days",
        "what happened in the news over the past two days",
    ),
    ("is it safe 2 fly with a cold", "is it safe to fly with a cold"),
    # v70: a model's letter in either case; a gap however many underscores
    ("is the pixel 7a waterproof", "is the Pixel 7A waterproof?"),
    # v71: the same doer had to act, or acted on; a thing's cause asked two ways
    ("how do i get my puppy to stop whining", "how can i stop my puppy from whining"),
    ("what makes dogs howl", "why do dogs howl"),
    # v73: brackets in prose are no call; a "!" after a word ends a sentence
    ("is a visa (or an eta) required for the uk", "is a visa or an eta required for the uk"),
    ("hey ! how do i get wax out of carpet", "how do i get wax out of carpet"),
    ("fill the blank: I ___ to school yesterday", "fill in the blank: I ____ to school yesterday"),
    # v74: one quantity in two spellings
    ("it costs 5 million dollars", "it costs 5,000,000 dollars"),
    ("do banks report cash deposits of 10 grand", "do banks report cash deposits of $10,000"),
    (
        "what should i pack if it drops to minus fifteen degrees",
        "what should i pack if it drops to -15 degrees",
    ),
    ("What happened on September 11th, 2001?", "What happened on 11 September 2001?"),
    ("how do i train for my first 5K race", "how do i train for my first 5k race"),
    ("Is 120 mph fast for a train?", "Is 120 miles per hour fast for a train?"),
    (
        "how much should i save if i pay 1,200 in rent",
        "how much should i save if i pay $1200 in rent",
    ),
    ("What is a 401(k)?", "whats a 401k"),
    (
        "my turnover went past £90,000, do i have to register for VAT",
        "my turnover went past 90,000 pounds, do i have to register for VAT",
    ),
    # v75: prevention on both sides, or an act stated rather than brought about
    ("how do i stop my dog from barking", "how do i keep my dog from barking"),
    ("how do i make my bike chain stop squeaking", "bike chain squeaks, how do I fix it?"),
    ("how do i quit smoking", "how do i stop smoking"),
    # v76: "the number of" asks how many; a request made of anyone is made of you
    ("How many bones are in the adult human body?", "number of bones in an adult human body"),
    ("how many continents are there", "what's the number of continents on earth"),
    ("what is an API", "Can someone explain what an API is?"),
    ("what is an API", "can anyone tell me what an API is"),
    # v77: an article dropped before a name is no other title
    ("who painted the mona lisa", "who painted mona lisa"),
    # v78: the verb after the modal; a kind before "of" that names no place
    ("what causes back pain", "what can cause back pain"),
    ("best time of day to take creatine?", "when during the day should i take creatine"),
    # v79: names sharing their first sense
    ("what is the capital of holland", "what is the capital of the netherlands"),
    ("how many states are in the usa", "how many states are in the us"),
    # v80: "yom" of "yom kippur" is a word of the name, and still one of both prompts
    ("what is yom kippur", "whats yom kippur"),
    # v82: a count asked with "what is"; senses both words' corpus tagged
    ("how many people live in tokyo", "what is the number of people living in tokyo"),
    ("Recommend some names for a golden retriever puppy.", "names for a golden retriever pup"),
    ("What is the largest desert in the world?", "What is the biggest desert on Earth?"),
    # v83: "from" said or left out
    ("how do i stop my dog barking at night", "how do i stop my dog from barking at night"),
    # v84: a clause moved across the prompt, a name written either side of a sign
    ("in c, what does int* mean", "what does int* mean in c"),
    (
        "in JavaScript, what's the meaning of x => x * 2?",
        "what does x => x * 2 mean in JavaScript?",
    ),
    # v85: the same goal said with "to" and "into"
    ("how do i convert a word document to a pdf", "how do i turn a word document into a pdf"),
    # v86: "-ing" forms that meet as verbs
    ("tips for fixing a leaking faucet", "tips for repairing a leaking faucet"),
    # v87: two yes/no questions, two that ask how; two that ask which ones
    (
        "do i need a permit to replace a water heater",
        "is a permit required to replace a water heater",
    ),
    ("how do i get a building permit", "how can i get a building permit"),
    ("what animals were on noahs ark", "which animals were on noahs ark"),
    # v88: a phrasal verb hyphenated; "~" before a count; "+" and "->" between words; an
    # aside in brackets that opens with a number; "x+5" spaced or not
    ("what is a cash out refinance", "what is a cash-out refinance"),
    ("my script loads a 5 million row csv", "my script loads a ~5 million row csv"),
    ("sourdough starter from flour and water", "sourdough starter from flour + water"),
    ("how do i convert a list to a set in python", "convert a python list -> set"),
    ("my beagle, 6 yrs old, has to lose weight", "my beagle (6 yrs old) has to lose weight"),
    ("solve 2x + 5 = 17", "solve 2x+5=17"),
    # v88: a lone "one" of the same unit; an act that goes on, stopped or fixed
    ("wait one hour or one day", "wait one day or one hour"),
    ("how to stop a chain squeaking", "how to fix a chain that squeaks"),
    ("how to stop pipes freezing in winter", "how to keep pipes from freezing in winter"),
    # v89: "someone" after "to", not as the object; a question mark after "c++"
    ("how do i apologize to someone", "how do i apologize"),
    ("should i learn c++?", "should i learn c++"),
    # v90: a count in words or digits; "good" before a count; the planets "in order"
    ("Explain Newton's three laws of motion.", "explain newton's 3 laws of motion"),
    ("can you recommend some board games for 2 players", "What are good two-player board games?"),
    ("List the planets in order from the sun.", "what's the order of the planets from the sun?"),
    # v91: a word judged as its own prompt says it (a verb renamed to a noun is still a
    # verb), an infinitive's "to", a phrasal verb at the end of a noun phrase
    ("how do i convert a string to a float in python", "python string to float conversion"),
    ("how long to bake frozen fries in the oven", "oven frozen fries baking time?"),
    ("what do the angles of a triangle add up to", "sum of the angles of a triangle?"),
    # v92: a string literal said alike, the question reworded around it
    ("what does '7' + 1 give in javascript", "in javascript what does '7' + 1 give"),
    # v93: "how many" is no "several"; "the whole day" is "all day"
    ("how many grams of protein are in an egg", "grams of protein in one egg"),
    # v94: two nouns met in a second sense, one a kind of the other; a format said alike
    ("how do i stop my puppy biting", "how do i stop my pup biting"),
    ("convert a date from MM/DD/YY to YY/MM/DD", "how to convert a date from MM/DD/YY to YY/MM/DD"),
    # v95: two yes/no questions, or two amounts, reworded
    (
        "is there a fee to cancel my gym membership",
        "do i have to pay a fee to cancel my gym membership",
    ),
    # v96: a lifetime kept, and "scopes" read as scopes
    ("what does 'static mean in Rust", "what is the meaning of 'static in Rust"),
    ("how do I see the scopes my token has", "how can I view the scopes my token has"),
    # v97: "from" and "for" after two words that say one thing
    ("how long to recover from knee surgery", "what is the recovery time for knee surgery"),
    # v98: a noun after "my" is no typo of "how"; wondering and guessing it is a dumb question
    (
        "can my hoa fine me for parking on the street",
        "Can my HOA fine me for parking on the street?",
    ),
    ("I wonder if cats can eat cooked shrimp", "Can cats eat cooked shrimp?"),
    ("probably a dumb question, but does rice expire?", "does rice expire"),
    # v99: a quantifier stressed in capitals; doubts about the question itself
    ("why do ALL my builds fail on CI", "why do all my builds fail on CI"),
    ("not sure if this makes sense, but can I freeze cooked rice?", "can I freeze cooked rice"),
    ("I'm not sure whether I need a visa for Peru", "do I need a visa for Peru"),
    # v100: the noun the verb is derived from still aligns
    ("What's the treatment for shingles on the face?", "How do you treat shingles on the face?"),
    # v101: each question word asked in the other prompt too
    (
        "When baking cookies, why do you chill the dough?",
        "Why do you chill the dough when baking cookies?",
    ),
    # v102: the same bound before the same number
    ("which movies came out before 1990", "which films came out before 1990"),
]

ORDER_KINDS = {r for _, _, r in NEAR_MISSES}


@pytest.mark.parametrize(("a", "b", "expected"), NEAR_MISSES)
def test_near_misses_are_refused_by_their_rule(a: str, b: str, expected: str) -> None:
    for x, y in ((a, b), (b, a)):
        reason = near_miss_reason(x, y)
        assert reason is not None, (x, y)
        assert rule(reason) == expected, (x, y, reason)


@pytest.mark.parametrize(("a", "b"), PARAPHRASES)
def test_paraphrases_pass(a: str, b: str) -> None:
    assert near_miss_reason(a, b) is None
    assert near_miss_reason(b, a) is None


def test_long_prompts_are_judged_by_the_words_that_differ() -> None:
    a, b = LONG.format("vegetarian"), LONG.format("budget")
    assert near_miss_reason(a, b) == "unaligned:vegetarian"
    assert near_miss_reason(a, LONG.format("vegetarian").replace("Italy", "Spain")) is not None
    # "would" is politeness, "should" a force: only two forces contradict
    assert near_miss_reason(a, a.replace("would you suggest", "do you suggest")) is None
    assert near_miss_reason(a, a.replace("can, so", "must, so")) == "modality"
    assert near_miss_reason(a, a.replace("two week", "2 week")) is None
    assert near_miss_reason(a, a.replace("crowded places", "crowded spots")) is None


def test_only_narrows_at_balanced_too() -> None:
    """v33: "all" alone in one prompt passes at ``balanced``; "only" does not."""
    a, b = "which rivers flow through only france", "which rivers flow through france"
    assert near_miss_reason(a, b, "balanced") == "quantifier"
    assert near_miss_reason(b, a, "balanced") == "quantifier"


def test_an_all_after_its_word_counts_at_balanced_too() -> None:
    """v47: an "all" after the word it is part of, or ending its phrase, is no "all" a
    prompt may leave out at ``balanced`` — one before its noun still is."""
    for a, b in (
        ("how does intersect all work in postgres", "how does intersect work in postgres"),
        ("how to delete all in gmail", "how to delete in gmail"),
        ("how do I select all?", "how do I select?"),
        # v81: "everything" is a noun phrase of its own wherever it stands
        (
            "change the owner of a directory and everything inside it in linux",
            "change the owner of a directory in linux",
        ),
        ("who is invited, everyone?", "who is invited?"),
    ):
        assert near_miss_reason(a, b, "balanced") == "quantifier", (a, b)
        assert near_miss_reason(b, a, "balanced") == "quantifier", (a, b)
    for a, b in (
        ("How do I list all of the tables in a SQLite database?", "sqlite list tables"),
        ("how to get an infant to sleep all night", "how do i get my baby to sleep all night"),
    ):
        assert near_miss_reason(a, b, "balanced") is None, (a, b)


def test_balanced_accepts_what_strict_refuses_and_nothing_worse() -> None:
    a, b = "Do all birds migrate?", "Do birds migrate?"
    assert near_miss_reason(a, b) == "quantifier"
    assert near_miss_reason(a, b, "balanced") is None
    assert near_miss_reason("Do all birds migrate?", "Do some birds migrate?", "balanced")
    some = ("What are some benefits of yoga?", "What are any benefits of yoga?")
    assert near_miss_reason(*some) is None  # one class of quantifier: no contradiction
    for x, y, _ in NEAR_MISSES:
        assert near_miss_reason(x, y, "balanced") is not None, (x, y)
    with pytest.raises(ValueError, match="strictness"):
        near_miss_reason(a, b, "lenient")


def test_quoted_spans_keep_their_apostrophes() -> None:
    tokens = tokenize("What does 'don't panic' mean, and \"it's over\"?")
    assert [t.text for t in tokens if t.kind == "quoted"] == ["don't panic", "it's over"]


def test_numbers_and_times_are_values() -> None:
    texts = {t.text for t in tokenize("3 pm, 15:00, 3 p.m.")}
    assert texts == {"15:00", ","}
    assert near_miss_reason("twenty five apples", "25 apples") is None
    assert near_miss_reason("a dozen eggs", "12 eggs") is None
    assert near_miss_reason("Is 3:00 a good time?", "Is 3 am a good time?") == "times"


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("it costs 5 million dollars", ("5e+06 USD",)),
        ("10 grand", ("10000",)),
        ("a grand piano", ()),
        ("drops to minus 15", ("-15",)),
        ("what is 7 minus 3", ("3", "7")),
        ("the 11th of September", ("11",)),
        ("May 5th", ("5",)),
        ("the 5th floor", ("#5",)),
        ("120 miles per hour", ("120 mph",)),
        ("90 kilometres an hour", ("90 kph",)),
        ("3 in the morning", ("3",)),
        ("a board 12 in wide", ("12 in",)),
        ("a 401(k) plan", ("401000",)),
    ],
)
def test_quantities_said_two_ways_are_one_value(text: str, numbers: tuple[str, ...]) -> None:
    assert analyse(text, default_verifier().lexicon).exact["numbers"] == numbers


def test_without_wordnet_every_pair_is_refused_and_it_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        verifier = Verifier(Lexicon(tmp_path / "missing"))
    assert verifier.reason("What is 2+2?", "what is 2 + 2") == "lexicon-unavailable"
    assert verifier.reason("same", "same") is None
    assert [r.message.startswith("WordNet not found") for r in caplog.records] == [True]


def test_verification_is_fast_once_warm() -> None:
    verifier = Verifier()
    pairs = [(a, b) for a, b, _ in NEAR_MISSES] + PARAPHRASES
    for a, b in pairs:
        verifier.reason(a, b)
    started = time.perf_counter()
    for _ in range(5):
        for a, b in pairs:
            verifier.reason(a, b)
    per_pair = (time.perf_counter() - started) / (5 * len(pairs))
    assert per_pair < 0.001, per_pair


def test_two_superlatives_agree_only_as_synonyms_in_their_main_senses() -> None:
    """Balanced aligns rarer senses too ("deep" = "large in quantity"), but two superlatives
    pick two extremes: only main-sense synonyms are the same question."""
    for strictness in ("strict", "balanced"):
        assert (
            near_miss_reason(
                "Which lake in Kenya is the largest, and who fishes it?",
                "Which lake in Kenya is the deepest, and who fishes it?",
                strictness=strictness,
            )
            is not None
        )
        assert (
            near_miss_reason(
                "What is the biggest mall in Ohio?",
                "What is the largest mall in Ohio?",
                strictness=strictness,
            )
            is None
        )


def test_a_number_against_all_is_refused_at_balanced_too() -> None:
    """At ``balanced`` "all" alone in one prompt passes; against a number it does not."""
    a, b = "How do I delete one branch in git?", "How do I delete all branches in git?"
    assert near_miss_reason(a, b, "balanced") == "quantifier"
    assert near_miss_reason(b, a, "balanced") == "quantifier"
    assert near_miss_reason("How do I delete all branches in git?", "delete all git branches?",
                            "balanced") is None  # fmt: skip


def test_the_whole_of_a_thing_is_refused_at_balanced_but_a_whole_night_is_all_night() -> None:
    """v93: "whole" and "entire" say the whole against a part, at ``balanced`` too; before
    a period of time they say "all" ("the whole night"), which may be in one prompt only."""
    a, b = "can you summarize my essay conclusion", "can you summarize my whole essay"
    assert near_miss_reason(a, b, "balanced") == "quantifier"
    assert near_miss_reason(b, a, "balanced") == "quantifier"
    a = "how to keep a baby asleep through the night"
    b = "how to keep a baby asleep the whole night"
    assert near_miss_reason(a, b, "balanced") is None
    assert near_miss_reason(a, b, "strict") == "quantifier"
    assert near_miss_reason("stay focused the whole day", "stay focused all day", "strict") is None


def test_units_align_only_in_their_main_senses_at_balanced_too() -> None:
    """A rare sense of "minute" ("moment") meets "hour"; units never align through one,
    while an abbreviation of the main sense still does."""
    every = "Remind me to drink water every {}"
    assert near_miss_reason(every.format("hour"), every.format("minute"), "balanced")
    minutes = ("How many minutes are in a day?", "how many mins are in a day")
    assert near_miss_reason(*minutes, "balanced") is None


def test_courtesy_alone_is_kept_and_only_where_it_stands_alone() -> None:
    """A prompt that is nothing but courtesy keeps its words; a formula is taken out at the
    start of a sentence and as the last sentence, never in the middle of one."""
    from scalegate.cache.verify.courtesy import without_courtesy
    from scalegate.cache.verify.tokens import tokenize

    def words(text: str) -> list[str]:
        return [t.text for t in without_courtesy(tokenize(text)) if t.kind != "punct"]

    assert words("Thanks so much!") == ["thanks", "so", "much"]
    assert words("Hi there! Quick question: what is a REIT? Thanks in advance.") == [
        "what", "is", "a", "reit",
    ]  # fmt: skip
    assert words("How do I say thank you in French?") == [
        "how", "do", "i", "say", "thank", "you", "in", "french",
    ]  # fmt: skip
    assert near_miss_reason("Thanks so much!", "Sorry!") is not None


@pytest.mark.parametrize(
    ("s", "t", "one"),
    [
        ("difference", "diffrence", True),  # a letter dropped
        ("keyboard", "keybaord", True),  # two swapped
        ("point", "piont", True),
        ("cancel", "cancle", True),
        ("reverse", "reversed", True),  # a letter added
        ("default", "defualt", True),
        ("monitor", "monitor", False),  # the same word is no edit
        ("calibrate", "clabirate", False),  # two swaps apart
        ("separate", "seperete", False),  # two letters changed
        ("abc", "cba", False),
    ],
)
def test_one_edit_is_one_insertion_deletion_substitution_or_swap(s: str, t: str, one: bool) -> None:
    assert one_edit(s, t) is one
    assert one_edit(t, s) is one


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("what does [^abc] match", ["[^w]"]),
        ("what does ^[abc] match", ["^[w]"]),
        ("x[::-1] and f(x)^2", ["w[::-w]", "w(w)^w"]),
        ("print('abc'[1:])", ["w(w[w:])"]),
        ("print('abc'[:1])", ["w(w[:w])"]),
        ("and/or (optional) wi-fi", []),  # no sign only code writes: prose
        ("(3+4)*2", ["(w+w)*w"]),  # arithmetic too (compared only against a reordering)
    ],
)
def test_glued_keeps_the_order_of_signs_inside_a_run_of_code(text: str, runs: list[str]) -> None:
    assert glued(text) == runs


def test_a_comma_is_code_only_where_it_trails_an_operand() -> None:
    assert [t.text for t in tokenize("x = 5,\ny = (1,)") if t.kind == "symbol"] == [
        "=",
        ",",
        "=",
        "(",
        ",",
    ]
    # Thousands, a list in prose and a letter's greeting keep their commas as punctuation.
    assert [t.text for t in tokenize("1,000 or 5, 6\nHi,\nthanks") if t.kind == "symbol"] == []
    assert [t.text for t in tokenize("1,000")] == ["1000"]


def test_glued_words_keep_their_order() -> None:
    assert glued_words("as YYYY-MM-DD or DD/MM/YYYY, wi-fi") == [
        ("yyyy", "mm", "dd"),
        ("dd", "mm", "yyyy"),
        ("wi", "fi"),
    ]
    assert glued_words("a plain sentence, no runs") == []


def test_letter_case_counts_only_where_the_prompt_writes_case() -> None:
    assert cased("in chemistry, what does CO stand for?") == ["CO"]
    assert cased("how much vitamin d do i need") == []  # typed all in lower case
    assert cased("WHAT DOES CO STAND FOR") == []  # shouted
    # "Ok" only starts a sentence, "A" is the article: neither is a symbol
    assert cased("Ok, in strftime what does %M mean? A list please") == ["M"]
    assert case_differs(("CO",), ("Co",))
    assert not case_differs(("CO",), ())  # "co" typed in lower case says nothing


def test_a_word_cut_short_aligns_only_when_no_dictionary_knows_it() -> None:
    assert (
        near_miss_reason("how do I edit my nginx configuration", "how do I edit my nginx config")
        is None
    )
    assert near_miss_reason("how to buy a car", "how to buy a carpet") == "unaligned:car"


def test_a_fronted_phrase_is_read_at_the_end_of_its_sentence() -> None:
    seq = ["=with", "pandas", BOUNDARY, "@1s", "drop", "rows", CLAUSE, "thanks"]
    assert fronted_last(seq, (0, 1, 2)) == [
        "@1s", "drop", "rows", BOUNDARY, "=with", "pandas", CLAUSE, "thanks"
    ]  # fmt: skip
    assert fronted_last(seq, ()) == seq


def test_a_relation_word_at_a_prompts_start_is_read() -> None:
    """ "steps *for* changing …" against "how *to* change …": the relation word replaced
    has no word before it, and the empty word is its own lemma (simplemma 2 raises on "";
    holdout41 found it)."""
    assert near_miss_reason("how to change a flat tire", "steps for changing a flat tyre") is None


def test_per_against_another_preposition_is_another_grouping() -> None:
    """ "per" groups by its noun (verifier v41), also past a quantifier ("across *all* …");
    at balanced "all" alone is no contradiction, so the relation decides."""
    a, b = "average salary per department in SQL", "average salary across all departments in SQL"
    assert near_miss_reason(a, b, "balanced") == "relation"
