#include "engram/data/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <memory>

#include "engram/core/error.h"

namespace engram {
namespace {

constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Compiled once; pcre2_code is read-only during matching, so all threads share it.
class CompiledPattern {
 public:
  CompiledPattern() {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    // MATCH_INVALID_UTF: invalid UTF-8 in the subject is skipped instead of failing the match, and
    // the subject is not re-validated on every call (which would make a long text quadratic).
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code,
                          &error_offset, nullptr);
    if (code_ == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof(message));
      throw Error("GPT-2 pre-tokeniser: PCRE2 could not compile the regex at offset " +
                  std::to_string(error_offset) + ": " + reinterpret_cast<char*>(message) +
                  "; libpcre2-8 must be built with Unicode support");
    }
    // JIT is an optimisation only: without it pcre2_match interprets the same pattern.
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);
  }
  ~CompiledPattern() { pcre2_code_free(code_); }
  CompiledPattern(const CompiledPattern&) = delete;
  CompiledPattern& operator=(const CompiledPattern&) = delete;
  const pcre2_code* get() const { return code_; }

 private:
  pcre2_code* code_ = nullptr;
};

const pcre2_code* gpt2_pattern() {
  static const CompiledPattern pattern;  // thread-safe initialisation (C++11 magic statics)
  return pattern.get();
}

// bytes_to_unicode(): the code point each byte is shown as.
const std::array<int, 256>& byte_to_codepoint() {
  static const std::array<int, 256> table = [] {
    std::array<int, 256> t{};
    int next_unprintable = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[b] = printable ? b : next_unprintable++;
    }
    return t;
  }();
  return table;
}

void append_utf8(std::string& out, int cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else {  // the map only produces code points below U+0800
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

void gpt2_pretokenize(std::string_view text,
                      const std::function<void(std::string_view)>& on_piece) {
  if (text.empty()) return;
  const pcre2_code* code = gpt2_pattern();
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  if (!match) throw Error("GPT-2 pre-tokeniser: out of memory allocating PCRE2 match data");

  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;  // everything before pos has been handed to on_piece
  while (pos < text.size()) {
    int rc = pcre2_match(code, subject, text.size(), pos, 0, match.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error("GPT-2 pre-tokeniser: PCRE2 match failed at byte " + std::to_string(pos) +
                  " of a " + std::to_string(text.size()) + "-byte text: " +
                  reinterpret_cast<char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    size_t start = ovector[0], end = ovector[1];
    // Every alternative consumes at least one character, so end > start; guard anyway so a
    // surprising PCRE2 build can never loop forever.
    if (end <= start) throw Error("GPT-2 pre-tokeniser: PCRE2 returned an empty match");
    if (start > pos) on_piece(text.substr(pos, start - pos));  // invalid UTF-8 bytes
    on_piece(text.substr(start, end - start));
    pos = end;
  }
  if (pos < text.size()) on_piece(text.substr(pos));
}

void split_on_specials(std::string_view text, const std::vector<std::string>& special_tokens,
                       const std::function<void(std::string_view)>& on_text,
                       const std::function<void(size_t)>& on_special) {
  // next_at[k]: next occurrence of special k at or after `pos`, refreshed only once passed, so
  // the text is scanned about once per special token however many occurrences it has.
  std::vector<size_t> next_at;
  for (const std::string& special : special_tokens) {
    next_at.push_back(special.empty() ? std::string_view::npos : text.find(special));
  }
  size_t pos = 0;
  while (true) {
    int best = -1;
    for (size_t k = 0; k < special_tokens.size(); ++k) {
      if (next_at[k] != std::string_view::npos && next_at[k] < pos) {
        next_at[k] = text.find(special_tokens[k], pos);
      }
      if (next_at[k] == std::string_view::npos) continue;
      if (best < 0 || next_at[k] < next_at[best] ||
          (next_at[k] == next_at[best] &&
           special_tokens[k].size() > special_tokens[best].size())) {
        best = static_cast<int>(k);
      }
    }
    if (best < 0) break;
    if (next_at[best] > pos) on_text(text.substr(pos, next_at[best] - pos));
    on_special(best);
    pos = next_at[best] + special_tokens[best].size();
  }
  if (pos < text.size()) on_text(text.substr(pos));
}

std::string bytes_to_gpt2_unicode(std::string_view bytes) {
  const auto& table = byte_to_codepoint();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) append_utf8(out, table[b]);
  return out;
}

std::string gpt2_unicode_to_bytes(std::string_view text, const std::string& what) {
  static const std::array<int, 324> codepoint_to_byte = [] {
    std::array<int, 324> t;
    t.fill(-1);
    const auto& forward = byte_to_codepoint();
    for (int b = 0; b < 256; ++b) t[forward[b]] = b;
    return t;
  }();
  auto fail = [&](size_t at) {
    throw Error(what + ": byte " + std::to_string(at) +
                " is not a character of GPT-2's byte-to-unicode map; the file is not a "
                "byte-level BPE vocabulary (or is corrupted)");
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    auto c0 = static_cast<unsigned char>(text[i]);
    int cp = -1;
    if (c0 < 0x80) {
      cp = c0;
      i += 1;
    } else if ((c0 & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      cp = ((c0 & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      i += 2;
      if (cp < 0x80) fail(at);  // overlong encoding
    } else {
      fail(at);  // every mapped character is 1 or 2 bytes of UTF-8
    }
    if (cp >= static_cast<int>(codepoint_to_byte.size()) || codepoint_to_byte[cp] < 0) fail(at);
    out.push_back(static_cast<char>(codepoint_to_byte[cp]));
  }
  return out;
}

}  // namespace engram
