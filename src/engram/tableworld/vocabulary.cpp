#include "engram/tableworld/vocabulary.h"

#include <set>
#include <sstream>

#include "engram/core/error.h"
#include "engram/tableworld/facts.h"

namespace engram::tableworld {

Vocabulary::Vocabulary() {
  words_ = {"<pad>", "<bos>", "<eos>", "task", "state", "action", ":", ";", "|", ",", ".", "?"};
  std::set<std::string> w = {"the", "is", "a", "colour", "of", "question", "what", "answer", "and", "have", "same",
                             "thing", "with", "go", "to", "reach"};
  auto add_words = [&](const std::string& phrase) {
    std::istringstream in(phrase);
    for (std::string word; in >> word;) w.insert(word);
  };
  for (const auto& c : colours()) add_words(c);
  for (const auto& s : shapes()) add_words(s);
  for (const auto& r : relations()) add_words(r);
  for (const auto& e : entities()) add_words(e.name);
  words_.insert(words_.end(), w.begin(), w.end());
  first_state_ = static_cast<int64_t>(words_.size());
  for (int b = 0; b < kStateBins; ++b) words_.push_back("s" + std::to_string(b));
  first_fast_ = static_cast<int64_t>(words_.size());
  for (int f = 0; f < kFastIds; ++f) words_.push_back("<fast_" + std::to_string(f) + ">");
  for (size_t i = 0; i < words_.size(); ++i) ids_[words_[i]] = static_cast<int64_t>(i);
}

int64_t Vocabulary::id(const std::string& word) const {
  const auto it = ids_.find(word);
  if (it == ids_.end()) throw Error("the TableWorld vocabulary has no word '" + word + "'");
  return it->second;
}

std::vector<int64_t> Vocabulary::encode(const std::string& text, const std::string& what) const {
  std::vector<int64_t> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) {
    const auto it = ids_.find(word);
    if (it == ids_.end()) throw Error(what + ": unknown word '" + word + "' (not in the TableWorld vocabulary)");
    out.push_back(it->second);
  }
  return out;
}

std::string Vocabulary::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    if (id < 0 || id >= size()) throw Error("TableWorld vocabulary: id " + std::to_string(id) + " is outside 0…" + std::to_string(size() - 1));
    out += (out.empty() ? "" : " ") + words_[static_cast<size_t>(id)];
  }
  return out;
}

int64_t Vocabulary::state_bin(int bin) const {
  if (bin < 0 || bin >= kStateBins) throw Error("TableWorld: state bin " + std::to_string(bin) + " is outside 0…31");
  return first_state_ + bin;
}

int64_t Vocabulary::fast(int code) const {
  if (code < 0 || code >= kFastIds) throw Error("TableWorld: FAST code " + std::to_string(code) + " is outside 0…255");
  return first_fast_ + code;
}

}  // namespace engram::tableworld
