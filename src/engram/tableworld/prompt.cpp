#include "engram/tableworld/prompt.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/tableworld/facts.h"
#include "engram/tableworld/scene.h"

namespace engram::tableworld {

int state_bin(double x) {
  return std::clamp(static_cast<int>(std::floor((x + 1.0) / 2.0 * Vocabulary::kStateBins)), 0, Vocabulary::kStateBins - 1);
}

ki::PrefixInput prompt_prefix(const torch::Tensor& obs, const Vocabulary& v) {
  if (obs.dim() != 2 || obs.size(1) != kObsDim)
    throw Error("TableWorld prompt: observations must be [B, " + std::to_string(kObsDim) + "], got " + c10::str(obs.sizes()));
  const int64_t B = obs.size(0);
  const auto o = obs.to(torch::kFloat64).contiguous();
  const auto a = o.accessor<double, 2>();
  auto ids = torch::full({B, kPrefixLength}, v.pad(), torch::kLong);
  auto valid = torch::zeros({B, kPrefixLength}, torch::kBool);
  auto words = torch::zeros({B, kObjects, 2}, torch::kLong);
  auto xy = torch::zeros({B, kObjects, 2}, torch::kFloat32);
  auto ida = ids.accessor<int64_t, 2>();
  auto va = valid.accessor<bool, 2>();
  auto wa = words.accessor<int64_t, 3>();
  auto xya = xy.accessor<float, 3>();
  static const int64_t task = v.id("task"), colon = v.id(":"), comma = v.id(","), state = v.id("state"), semi = v.id(";"),
                       action = v.id("action");
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> row = {v.bos()};
    for (int k = 0; k < kObjects; ++k) {
      const int colour = static_cast<int>(a[b][4 + 4 * k]), shape = static_cast<int>(a[b][5 + 4 * k]);
      if (colour < 0 || colour >= static_cast<int>(colours().size()) || shape < 0 || shape >= static_cast<int>(shapes().size()))
        throw Error("TableWorld prompt: row " + std::to_string(b) + " has object " + std::to_string(k) + " of colour " +
                    std::to_string(colour) + " and shape " + std::to_string(shape));
      wa[b][k][0] = v.id(colours()[static_cast<size_t>(colour)]);
      wa[b][k][1] = v.id(shapes()[static_cast<size_t>(shape)]);
      xya[b][k][0] = static_cast<float>(a[b][6 + 4 * k]);
      xya[b][k][1] = static_cast<float>(a[b][7 + 4 * k]);
      row.push_back(v.pad());  // the object token's slot
    }
    row.insert(row.end(), {task, colon});
    for (int i = 0; i < kInstructionWords; ++i) {
      const double w = a[b][16 + i];
      if (w == static_cast<double>(v.pad())) break;
      if (!(w >= 0 && w < static_cast<double>(v.size())) || w != std::floor(w))
        throw Error("TableWorld prompt: row " + std::to_string(b) + " has instruction word id " + c10::str(w) + " outside the vocabulary");
      row.push_back(static_cast<int64_t>(w));
    }
    row.insert(row.end(), {comma, state, colon});
    for (double s : {a[b][0], a[b][1], a[b][2] / 0.6, a[b][3] / 0.6}) row.push_back(v.state_bin(state_bin(s)));
    row.insert(row.end(), {semi, action, colon});
    for (size_t i = 0; i < row.size(); ++i) ida[b][static_cast<int64_t>(i)] = row[i], va[b][static_cast<int64_t>(i)] = true;
  }
  return {ids, valid, words, xy};
}

std::pair<torch::Tensor, torch::Tensor> fast_block(const std::vector<std::vector<int64_t>>& codes, int64_t length,
                                                   const Vocabulary& v) {
  const int64_t B = static_cast<int64_t>(codes.size());
  auto ids = torch::full({B, length}, v.pad(), torch::kLong);
  auto valid = torch::zeros({B, length}, torch::kBool);
  auto ida = ids.accessor<int64_t, 2>();
  auto va = valid.accessor<bool, 2>();
  static const int64_t bar = v.id("|");
  for (int64_t b = 0; b < B; ++b) {
    const auto& c = codes[static_cast<size_t>(b)];
    if (static_cast<int64_t>(c.size()) + 2 > length)
      throw Error("FAST block: a chunk of " + std::to_string(c.size()) + " tokens does not fit in " + std::to_string(length) +
                  " positions (codes, |, EOS)");
    int64_t i = 0;
    for (int64_t code : c) ida[b][i] = v.fast(static_cast<int>(code)), va[b][i++] = true;
    ida[b][i] = bar, va[b][i++] = true;
    ida[b][i] = v.eos(), va[b][i] = true;
  }
  return {ids, valid};
}

}  // namespace engram::tableworld
