// GPT-2 byte-level conventions shared by the tokenizer and the BPE trainer: the pre-tokeniser
// regex and the reversible byte <-> printable-Unicode map that GPT-2's vocabulary files use.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace engram {

// Splits text into GPT-2 pre-tokens with the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (PCRE2, UTF + UCP, JIT when available) and calls on_piece for each piece in order. Bytes that are
// not valid UTF-8 never match the regex; each run of them between matches becomes a piece of its
// own. Guarantee: the pieces are non-empty and concatenate to `text` byte for byte. Thread-safe
// (the compiled pattern is shared read-only; match data is per call).
void gpt2_pretokenize(std::string_view text, const std::function<void(std::string_view)>& on_piece);

// Splits text at occurrences of special tokens: leftmost first, the longest where several start at
// the same byte. Calls on_text for each stretch of text before, between and after them (skipping
// empty ones) and on_special(k) for each occurrence of special_tokens[k], in text order.
void split_on_specials(std::string_view text, const std::vector<std::string>& special_tokens,
                       const std::function<void(std::string_view)>& on_text,
                       const std::function<void(size_t)>& on_special);

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the other 68 bytes to U+0100..
// in order (space -> 'Ġ', newline -> 'Ċ'). Returns the UTF-8 text of the mapped characters.
std::string bytes_to_gpt2_unicode(std::string_view bytes);

// Inverse of bytes_to_gpt2_unicode. Throws engram::Error if `text` is not valid UTF-8 or holds a
// character outside the map (`what` names the source, e.g. "encoder.json key 'Ġthe'").
std::string gpt2_unicode_to_bytes(std::string_view text, const std::string& what);

}  // namespace engram
