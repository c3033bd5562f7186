"""Demo evaluation sets written by the project itself.

On a fresh machine without ``../shared/data`` the thresholds page still needs something real
to show: :func:`demo_eval_set` builds a small labelled set per bundled model from short
template sentences written for this project (not copied from any dataset), deterministically
(no randomness at all: the same rows every time).

- ``banking77``: two hand-written queries per intent, each in two phrasings (308 rows).
- ``ekman``: sentences for anger, disgust, fear, joy, sadness, surprise, neutral (>= 150).
- ``goemotions``: sentences for the 28 GoEmotions labels, plus pairs joined into one text
  whose truth is both labels, ``;``-joined (multi-label).

The real dev/test splits of the bundled datasets are read by
:func:`cls_core.modelio.datasets.bundled_eval_splits`, with the readers training used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pandas as pd

__all__ = [
    "DEMO_MODELS",
    "GOEMOTIONS_LABELS",
    "banking77_labels",
    "demo_eval_set",
]

DEMO_MODELS: Final = ("banking77", "ekman", "goemotions")

_BANKING77_QUERIES: Final[tuple[tuple[str, tuple[str, str]], ...]] = (
    (
        "card_arrival",
        (
            "My new card still hasn't arrived, where is it?",
            "I ordered a card two weeks ago and nothing came in the post.",
        ),
    ),
    (
        "card_linking",
        (
            "How do I link the card I already have to the app?",
            "I want to add my existing card to my account.",
        ),
    ),
    (
        "exchange_rate",
        (
            "What exchange rate do you use for euros?",
            "How is the currency conversion rate calculated?",
        ),
    ),
    (
        "card_payment_wrong_exchange_rate",
        (
            "The rate on my card payment abroad was wrong.",
            "I paid in dollars and got a worse exchange rate than shown.",
        ),
    ),
    (
        "extra_charge_on_statement",
        (
            "There is an extra fee on my statement I don't understand.",
            "Why was I charged an additional amount this month?",
        ),
    ),
    (
        "pending_cash_withdrawal",
        (
            "My ATM withdrawal is still showing as pending.",
            "The cash I took out yesterday is still pending.",
        ),
    ),
    (
        "fiat_currency_support",
        ("Which currencies can I hold in my account?", "Do you support Swiss francs?"),
    ),
    (
        "card_delivery_estimate",
        ("How long does card delivery usually take?", "When can I expect my card to be delivered?"),
    ),
    (
        "automatic_top_up",
        (
            "How do I turn on auto top-up?",
            "Can my balance be topped up automatically when it gets low?",
        ),
    ),
    (
        "card_not_working",
        ("My card stopped working today.", "The card gets rejected everywhere, is it broken?"),
    ),
    (
        "exchange_via_app",
        (
            "Can I exchange currencies inside the app?",
            "I want to convert pounds to euros using the app.",
        ),
    ),
    (
        "lost_or_stolen_card",
        ("I lost my card, please block it.", "Someone stole my wallet with my card in it."),
    ),
    (
        "age_limit",
        ("How old do I need to be to open an account?", "Can my 15 year old son get an account?"),
    ),
    (
        "pin_blocked",
        (
            "My PIN is blocked after too many tries.",
            "I entered the wrong PIN three times and now it is locked.",
        ),
    ),
    (
        "contactless_not_working",
        (
            "Contactless payments are not working on my card.",
            "Tapping my card at the till does nothing.",
        ),
    ),
    (
        "top_up_by_bank_transfer_charge",
        (
            "Is there a fee for topping up by bank transfer?",
            "Will I be charged if I add money with a transfer?",
        ),
    ),
    (
        "pending_top_up",
        ("My top-up has been pending for hours.", "The money I added is stuck as pending."),
    ),
    (
        "cancel_transfer",
        ("Please cancel the transfer I just made.", "How can I stop a payment I sent by mistake?"),
    ),
    (
        "top_up_limits",
        ("What is the maximum amount I can top up?", "Is there a limit on how much I can add?"),
    ),
    (
        "wrong_amount_of_cash_received",
        (
            "The ATM gave me less cash than I asked for.",
            "I got the wrong amount of money from the machine.",
        ),
    ),
    (
        "card_payment_fee_charged",
        ("Why was I charged a fee for a card payment?", "There is a fee on my card purchase."),
    ),
    (
        "transfer_not_received_by_recipient",
        (
            "My friend hasn't received the money I sent.",
            "The recipient says the transfer never arrived.",
        ),
    ),
    (
        "supported_cards_and_currencies",
        ("Which cards and currencies do you accept?", "Can I use an American Express card?"),
    ),
    (
        "getting_virtual_card",
        ("How do I get a virtual card?", "Can I create a virtual card for online shopping?"),
    ),
    ("card_acceptance", ("Where is my card accepted?", "Will my card work in shops in Japan?")),
    (
        "top_up_reverted",
        ("My top-up was reversed, why?", "The money I added disappeared from my balance."),
    ),
    (
        "balance_not_updated_after_cheque_or_cash_deposit",
        (
            "I deposited a cheque but my balance did not change.",
            "The cash I paid in is not showing in my balance.",
        ),
    ),
    (
        "card_payment_not_recognised",
        ("There is a card payment I don't recognise.", "I didn't make this purchase on my card."),
    ),
    (
        "edit_personal_details",
        ("How do I change my address?", "I need to update my name on the account."),
    ),
    (
        "why_verify_identity",
        ("Why do I have to verify my identity?", "What is the identity check for?"),
    ),
    (
        "unable_to_verify_identity",
        (
            "The app won't accept my ID for verification.",
            "I can't get through the identity verification.",
        ),
    ),
    (
        "get_physical_card",
        ("How do I get a physical card?", "I only have a virtual card, can I get a plastic one?"),
    ),
    ("visa_or_mastercard", ("Is the card Visa or Mastercard?", "Which card network do you use?")),
    (
        "topping_up_by_card",
        ("Can I top up with my debit card?", "How do I add money using a card?"),
    ),
    (
        "disposable_card_limits",
        (
            "How many times can I use a disposable card?",
            "What are the limits on disposable virtual cards?",
        ),
    ),
    (
        "compromised_card",
        (
            "I think my card details were stolen online.",
            "Someone may have copied my card, what should I do?",
        ),
    ),
    (
        "atm_support",
        ("Which ATMs can I use with this card?", "Can I withdraw cash at any cash machine?"),
    ),
    (
        "direct_debit_payment_not_recognised",
        (
            "There is a direct debit I never set up.",
            "I don't recognise a direct debit on my account.",
        ),
    ),
    (
        "passcode_forgotten",
        ("I forgot my passcode for the app.", "How do I reset my app passcode?"),
    ),
    (
        "declined_cash_withdrawal",
        ("The ATM declined my withdrawal.", "I couldn't take out cash, it was refused."),
    ),
    (
        "pending_card_payment",
        ("A card payment is still pending.", "Why is my purchase showing as pending?"),
    ),
    (
        "lost_or_stolen_phone",
        (
            "My phone was stolen and it has the app on it.",
            "I lost my phone, how do I protect my account?",
        ),
    ),
    (
        "request_refund",
        ("I want a refund for this purchase.", "How do I ask for my money back from a merchant?"),
    ),
    (
        "declined_transfer",
        ("My transfer was declined.", "Why did my bank transfer fail to go through?"),
    ),
    (
        "Refund_not_showing_up",
        (
            "My refund still isn't showing in my account.",
            "The shop says it refunded me but I can't see it.",
        ),
    ),
    (
        "declined_card_payment",
        ("My card payment was declined at the shop.", "Why was my card refused online?"),
    ),
    (
        "pending_transfer",
        ("My transfer is still pending.", "How long will my transfer stay pending?"),
    ),
    (
        "terminate_account",
        ("I want to close my account.", "How do I delete my account permanently?"),
    ),
    ("card_swallowed", ("The ATM swallowed my card.", "The cash machine kept my card.")),
    (
        "transaction_charged_twice",
        (
            "I was charged twice for the same purchase.",
            "This payment appears two times on my account.",
        ),
    ),
    (
        "verify_source_of_funds",
        (
            "Why do you need proof of where my money comes from?",
            "How do I show the source of my funds?",
        ),
    ),
    (
        "transfer_timing",
        (
            "How long does a transfer take to arrive?",
            "When will my international transfer reach the other bank?",
        ),
    ),
    (
        "reverted_card_payment?",
        (
            "A card payment was reverted, what does that mean?",
            "My purchase came back to my account, why?",
        ),
    ),
    ("change_pin", ("How do I change my PIN?", "I want to set a new PIN for my card.")),
    (
        "beneficiary_not_allowed",
        ("I can't add this beneficiary.", "The app says the payee is not allowed."),
    ),
    (
        "transfer_fee_charged",
        ("Why was I charged a fee for my transfer?", "There is a fee on the money I sent."),
    ),
    (
        "receiving_money",
        ("How can I receive money from abroad?", "What details do I give someone to pay me?"),
    ),
    ("failed_transfer", ("My transfer failed.", "The payment I sent did not go through.")),
    (
        "transfer_into_account",
        (
            "How do I transfer money into my account?",
            "Can I move money from my other bank to this account?",
        ),
    ),
    (
        "verify_top_up",
        ("Why do I need to verify my top-up?", "What is the verification code for my top-up?"),
    ),
    ("getting_spare_card", ("Can I get a second card?", "I'd like a spare card for my account.")),
    (
        "top_up_by_cash_or_cheque",
        ("Can I top up with cash?", "Is it possible to add money by cheque?"),
    ),
    ("order_physical_card", ("I want to order a card.", "How do I request a new physical card?")),
    (
        "virtual_card_not_working",
        ("My virtual card isn't working.", "Online shops reject my virtual card."),
    ),
    (
        "wrong_exchange_rate_for_cash_withdrawal",
        (
            "The ATM abroad gave me a bad exchange rate.",
            "The rate for my cash withdrawal in euros was wrong.",
        ),
    ),
    (
        "get_disposable_virtual_card",
        (
            "How do I make a disposable virtual card?",
            "Can I get a one-time card for a single purchase?",
        ),
    ),
    ("top_up_failed", ("My top-up failed.", "Adding money to my account didn't work.")),
    (
        "balance_not_updated_after_bank_transfer",
        (
            "My balance didn't update after a bank transfer.",
            "The transfer arrived but my balance is the same.",
        ),
    ),
    (
        "cash_withdrawal_not_recognised",
        (
            "There is a cash withdrawal I didn't make.",
            "I don't recognise an ATM withdrawal on my account.",
        ),
    ),
    (
        "exchange_charge",
        ("Is there a fee for exchanging currency?", "How much do you charge to exchange money?"),
    ),
    (
        "top_up_by_card_charge",
        (
            "Is there a charge for topping up by card?",
            "Why was I charged for adding money with my card?",
        ),
    ),
    (
        "activate_my_card",
        ("How do I activate my new card?", "My card arrived, how do I start using it?"),
    ),
    (
        "cash_withdrawal_charge",
        ("Why was I charged for taking out cash?", "Is there a fee for ATM withdrawals?"),
    ),
    (
        "card_about_to_expire",
        ("My card expires next month, what now?", "Will you send a new card before mine expires?"),
    ),
    ("apple_pay_or_google_pay", ("Can I use Apple Pay?", "Does my card work with Google Pay?")),
    (
        "verify_my_identity",
        ("How do I verify my identity?", "What documents do I need to prove who I am?"),
    ),
    (
        "country_support",
        ("Which countries do you support?", "Can I open an account if I live in Brazil?"),
    ),
)


def banking77_labels() -> tuple[str, ...]:
    """The 77 banking intents in class-id order (as in the dataset's categories.json)."""
    return tuple(label for label, _ in _BANKING77_QUERIES)


_BANKING_FRAMES: Final = ("{q}", "Hi, {lq}")


def _lower_first(text: str) -> str:
    """Lower-case the first letter for use mid-sentence, but keep the pronoun "I"."""
    if text.startswith(("I ", "I'")):
        return text
    return text[0].lower() + text[1:]


def _banking77() -> pd.DataFrame:
    rows = []
    for frame in _BANKING_FRAMES:
        for label, queries in _BANKING77_QUERIES:
            for q in queries:
                rows.append({"text": frame.format(q=q, lq=_lower_first(q)), "label": label})
    return pd.DataFrame(rows)


_EKMAN_SENTENCES: Final[dict[str, tuple[str, ...]]] = {
    "anger": (
        "I am furious that they cancelled my order again",
        "Stop wasting my time with these useless excuses",
        "This is outrageous, nobody listens to a word I say",
        "I'm so mad I could scream at the next person who calls",
        "How dare you blame me for your own mistake",
        "They lied to us and I am sick of it",
        "I'm fed up with being ignored by the manager",
        "That referee was a joke and it makes my blood boil",
    ),
    "disgust": (
        "That smell in the fridge is absolutely revolting",
        "Ew, there is hair in my soup",
        "The way he treats animals is disgusting",
        "I felt sick watching them cheat the old lady",
        "The bathroom at the station was filthy and gross",
        "That video made my stomach turn",
        "Yuck, the milk has gone sour and lumpy",
        "Their behaviour at the funeral was vile",
    ),
    "fear": (
        "I'm terrified of the exam results tomorrow",
        "There's a strange noise downstairs and I'm scared",
        "I am afraid I will lose my job next month",
        "Walking home alone at night makes me nervous",
        "My heart is pounding, I think someone is following me",
        "I'm worried the storm will flood the house",
        "The doctor's call tomorrow really frightens me",
        "I panic every time the plane shakes",
    ),
    "joy": (
        "I got the job, I'm so happy",
        "What a wonderful day at the beach with my family",
        "Thank you so much, this made my week",
        "We won the final and I can't stop smiling",
        "I love this song, it always cheers me up",
        "My sister had a healthy baby girl today",
        "This is the best birthday present ever",
        "I'm thrilled that the project finally worked",
    ),
    "sadness": (
        "I miss my grandmother so much",
        "I feel so lonely since my friends moved away",
        "My dog died this morning and I can't stop crying",
        "It hurts that nobody remembered my birthday",
        "I failed again and I feel hopeless",
        "The house feels empty without the kids",
        "I'm heartbroken that we had to say goodbye",
        "Such a sad ending, I'm still upset about it",
    ),
    "surprise": (
        "Wow, I did not see that coming at all",
        "Wait, you're moving to Australia next week?",
        "I can't believe they finished the bridge already",
        "No way, the shy kid from class is a famous singer now",
        "Whoa, the package arrived a week early",
        "I was shocked to see snow in May",
        "Really? I had no idea they were twins",
        "That plot twist completely caught me off guard",
    ),
    "neutral": (
        "The meeting is at ten in room four",
        "I bought bread and milk on the way home",
        "The train leaves from platform two",
        "She works at the library on weekdays",
        "The report has three sections and an appendix",
        "We usually have dinner around seven",
        "The shop closes at six on Sundays",
        "He changed the tyres on his car yesterday",
    ),
}
_EKMAN_FRAMES: Final = ("{s}.", "{s}!", "Honestly, {l}.")


def _ekman() -> pd.DataFrame:
    rows = []
    for frame in _EKMAN_FRAMES:
        for label, sentences in _EKMAN_SENTENCES.items():
            for s in sentences:
                rows.append({"text": frame.format(s=s, l=_lower_first(s)), "label": label})
    return pd.DataFrame(rows)


GOEMOTIONS_LABELS: Final = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)  # fmt: skip

_GOEMOTIONS_SENTENCES: Final[dict[str, tuple[str, ...]]] = {
    "admiration": (
        "Your painting is stunning, you are so talented",
        "She handled that crisis brilliantly",
        "What an impressive performance by the whole team",
        "I really respect how hard you worked for this",
        "That was a beautiful speech",
    ),
    "amusement": (
        "Haha, that cat video cracked me up",
        "Lol I can't stop laughing at this",
        "That joke about the penguin was hilarious",
        "This thread is so funny",
        "My kid's dance moves had us in stitches",
    ),
    "anger": (
        "I am furious with how they treated us",
        "This makes me so angry",
        "How dare they do that to her",
        "I'm livid about the cancelled flight",
        "That is absolutely infuriating",
    ),
    "annoyance": (
        "Ugh, my neighbour is drilling again",
        "It's annoying when people talk during films",
        "The printer jammed for the third time today",
        "Stop sending me these spam emails",
        "So irritating that the bus is late again",
    ),
    "approval": (
        "Yes, I agree with this decision",
        "Good call, that is the right move",
        "I support the new recycling rule",
        "That sounds like a fair plan to me",
        "Exactly, well said",
    ),
    "caring": (
        "Take care of yourself and rest",
        "I hope you feel better soon",
        "Let me know if you need anything at all",
        "Drink some water and get some sleep",
        "I'm here for you if you want to talk",
    ),
    "confusion": (
        "I don't understand what he meant",
        "Wait, which form am I supposed to fill in",
        "I'm confused by these instructions",
        "Huh? That makes no sense to me",
        "I'm not sure what is going on here",
    ),
    "curiosity": (
        "What made you choose that city",
        "I wonder how they built this",
        "How does the engine actually work",
        "Why do cats purr, does anyone know",
        "I'm curious what happens in the next episode",
    ),
    "desire": (
        "I really want to visit Japan one day",
        "I wish I had a garden like that",
        "I'd love to try that new restaurant",
        "I want that jacket so badly",
        "If only I could play the piano like her",
    ),
    "disappointment": (
        "The sequel was such a letdown",
        "I expected more from this restaurant",
        "Sadly the concert was cancelled",
        "The results were disappointing after all that work",
        "I hoped he would call but he never did",
    ),
    "disapproval": (
        "I don't think that is acceptable",
        "That was not a good idea at all",
        "I disagree with the new policy",
        "You shouldn't have said that to her",
        "This decision is wrong",
    ),
    "disgust": (
        "That is absolutely gross",
        "Ew, the sink is full of mould",
        "Their comments were disgusting",
        "The smell made me want to vomit",
        "What a revolting thing to do",
    ),
    "embarrassment": (
        "I tripped in front of the whole class, so embarrassing",
        "I called my teacher mum by accident",
        "I'm so embarrassed about what I said last night",
        "My face went red when they read my message aloud",
        "I forgot her name in the middle of the introduction",
    ),
    "excitement": (
        "I can't wait for the trip next week",
        "The concert starts in an hour, so excited",
        "We're getting a puppy this weekend",
        "This new game looks amazing, I need it now",
        "Tomorrow is the big day, I'm buzzing",
    ),
    "fear": (
        "I'm scared of what the test will show",
        "That dark alley terrifies me",
        "I'm afraid the dog will bite",
        "The thought of surgery frightens me",
        "I was terrified during the earthquake",
    ),
    "gratitude": (
        "Thank you so much for your help",
        "Thanks for the kind words",
        "I really appreciate you coming",
        "Many thanks for the quick reply",
        "Thank you for looking after the kids",
    ),
    "grief": (
        "We buried my father today",
        "I still can't accept that she is gone",
        "Losing him has broken our family",
        "The funeral was the hardest day of my life",
        "I'm mourning my best friend",
    ),
    "joy": (
        "I'm so happy today",
        "What a lovely surprise party",
        "This made me smile all day",
        "We had a wonderful time at the lake",
        "Pure happiness, the sun is out",
    ),
    "love": (
        "I love you more than anything",
        "I adore my grandparents",
        "I love this city so much",
        "My heart is full when I see them",
        "I love the way she laughs",
    ),
    "nervousness": (
        "I'm anxious about the interview",
        "My hands are shaking before the speech",
        "I'm nervous about meeting her parents",
        "I have butterflies before the match",
        "The waiting makes me so tense",
    ),
    "optimism": (
        "Things will get better, I'm sure",
        "I have a good feeling about this year",
        "Hopefully the weather clears up tomorrow",
        "I believe we can still win this",
        "Next time will go well, I know it",
    ),
    "pride": (
        "I'm so proud of my daughter for graduating",
        "I finally finished my first marathon",
        "Proud of myself for staying calm",
        "Our team built this from nothing",
        "I passed the exam on my own",
    ),
    "realization": (
        "Oh, now I get why it failed",
        "I just realised I left the oven on",
        "It turns out the shop was closed all along",
        "I finally understand what she meant",
        "So that's how the trick works",
    ),
    "relief": (
        "Phew, the test came back negative",
        "What a relief that everyone is safe",
        "Glad that is finally over",
        "Thank goodness the flight landed",
        "I can breathe again, we found the keys",
    ),
    "remorse": (
        "I'm sorry, I shouldn't have shouted",
        "I regret not calling her back",
        "I feel terrible about what I did",
        "My apologies for being so rude",
        "I wish I could take back those words",
    ),
    "sadness": (
        "I feel so sad and alone",
        "It's a gloomy day and I feel down",
        "I miss the old days",
        "My heart aches for them",
        "I cried all evening",
    ),
    "surprise": (
        "Wow, I never expected that",
        "No way, that's unbelievable",
        "I'm shocked they won",
        "Whoa, look at the size of that",
        "What, it's already December",
    ),
    "neutral": (
        "The meeting moved to Tuesday",
        "I'm reading the second chapter",
        "The store is on Main Street",
        "He drove to work this morning",
        "The form needs two signatures",
    ),
}
_GOEMOTIONS_PAIRS: Final = (
    ("gratitude", "joy"), ("anger", "annoyance"), ("admiration", "love"), ("excitement", "joy"),
    ("sadness", "grief"), ("fear", "nervousness"), ("curiosity", "confusion"), ("disapproval", "annoyance"),
    ("caring", "optimism"), ("remorse", "sadness"), ("surprise", "realization"), ("relief", "gratitude"),
    ("pride", "joy"), ("amusement", "love"), ("desire", "excitement"), ("disappointment", "sadness"),
    ("disgust", "anger"), ("embarrassment", "amusement"), ("approval", "admiration"), ("optimism", "desire"),
    ("nervousness", "excitement"), ("realization", "relief"), ("fear", "sadness"), ("curiosity", "excitement"),
    ("gratitude", "caring"), ("annoyance", "disappointment"), ("love", "gratitude"), ("surprise", "joy"),
)  # fmt: skip


def _goemotions() -> pd.DataFrame:
    rows = []
    for label in GOEMOTIONS_LABELS:
        for s in _GOEMOTIONS_SENTENCES[label]:
            rows.append({"text": s + ".", "label": label})
    for i, (a, b) in enumerate(_GOEMOTIONS_PAIRS):
        first = _GOEMOTIONS_SENTENCES[a][i % 5]
        second = _GOEMOTIONS_SENTENCES[b][(i + 2) % 5]
        label = ";".join(sorted((a, b), key=GOEMOTIONS_LABELS.index))
        rows.append({"text": f"{first}. {second}.", "label": label})
    return pd.DataFrame(rows)


_BUILDERS: Final[dict[str, Callable[[], pd.DataFrame]]] = {
    "banking77": _banking77,
    "ekman": _ekman,
    "goemotions": _goemotions,
}


def demo_eval_set(model_name: str) -> pd.DataFrame:
    """A small labelled demo set for a bundled model: columns ``text`` and ``label``.

    ``label`` is one label name (banking77, ekman) or ``;``-joined names (goemotions).
    Deterministic: the same rows on every call.

    Raises
    ------
    ValueError
        ``model_name`` is not one of :data:`DEMO_MODELS`.

    Examples
    --------
    >>> len(demo_eval_set("ekman")) >= 150
    True
    """
    if model_name not in _BUILDERS:
        raise ValueError(
            f"`model_name` must be one of {', '.join(DEMO_MODELS)}; got {model_name!r}"
        )
    return _BUILDERS[model_name]()
