"""The demo model's tokenizer: byte-level BPE with one token per digit, plus a chat template.

Built with the ``tokenizers`` library and wrapped as a ``PreTrainedTokenizerFast`` so the bundled model
loads through exactly the path a real checkpoint uses (``AutoTokenizer.from_pretrained(dir)``).

- Digits are split individually before BPE (a leading space may stay attached): a number's tokens
  then line up with its place values, which is what lets a tiny model learn carrying (and makes
  per-digit uncertainty visible).
- Byte-level: any text (a system prompt it never saw, emoji) encodes without an unknown token.
- The chat template marks roles with dedicated special tokens and ends every message with ``<|end|>``,
  the eos token, so generation stops where a turn ends.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

__all__ = [
    "ASSISTANT",
    "BOS",
    "CHAT_TEMPLATE",
    "EOS",
    "PAD",
    "SPECIAL_TOKENS",
    "SYSTEM",
    "USER",
    "build_tokenizer",
]

PAD, BOS, EOS = "<|pad|>", "<|begin|>", "<|end|>"
SYSTEM, USER, ASSISTANT = "<|system|>", "<|user|>", "<|assistant|>"
# Order fixes their ids (0..5): pad is 0 so padded batches are easy to read.
SPECIAL_TOKENS = (PAD, BOS, EOS, SYSTEM, USER, ASSISTANT)

# Role markers are written as literals (not '<|' + role + '|>') so transformers can tell template
# control tokens from user text when sanitising; an unknown role is an error, not a silent new token.
CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{- '<|system|>\\n' -}}"
    "{%- elif message['role'] == 'user' -%}{{- '<|user|>\\n' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- '<|assistant|>\\n' -}}"
    "{%- else -%}{{- raise_exception('unsupported role: ' ~ message['role']) -}}"
    "{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- generation -%}{{- message['content'] | trim -}}{{- '<|end|>' -}}{%- endgeneration -%}"
    "{%- else -%}{{- message['content'] | trim -}}{{- '<|end|>' -}}"
    "{%- endif -%}"
    "{{- '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}"
)


def build_tokenizer(corpus: Iterable[str], vocab_size: int = 384) -> PreTrainedTokenizerFast:
    """Train byte-level BPE on ``corpus`` and wrap it with the special tokens and chat template.

    Deterministic for a given corpus (the BPE trainer breaks count ties by pair order).
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # one digit per piece, keeping a preceding space (" 874" -> " 8", "7", "4") so BPE may
            # learn "Ġ8": a number costs no extra space token
            pre_tokenizers.Split(Regex(r" ?[0-9]"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=[SYSTEM, USER, ASSISTANT],
        chat_template=CHAT_TEMPLATE,
        model_max_length=1024,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
