#include "engram/policy/chunk_dataset.h"

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/sim/demo_file.h"

namespace engram {

void load_chunk_dataset(const std::string& path, int64_t H, int64_t holdout_every, ChunkDataset& train, ChunkDataset& valid) {
  const auto data = read_demos(path);
  if (data.episodes.empty()) throw Error("dataset " + path + " holds no episodes");
  const int64_t D = data.env_args["obs_dim"].get<int64_t>(), M = data.env_args["action_dim"].get<int64_t>();
  // The terminal step's action is a label where it is what ends the episode on purpose (TableWorld's
  // gripper close); in the Kinetix-style tasks the episode ends on a contact, and the paper's code
  // zeroes the terminal step's target with everything after it.
  const int64_t last_kept = data.env_args.value("type", std::string()) == "engram-tableworld" ? 0 : 1;
  std::vector<float> obs[2], chunks[2];
  int64_t episodes[2] = {0, 0};
  for (const auto& ep : data.episodes) {
    const int which = holdout_every > 0 && ep.index % holdout_every == 0 ? 1 : 0;
    ++episodes[which];
    const int64_t T = ep.length();
    for (int64_t j = 0; j < T; ++j) {
      obs[which].insert(obs[which].end(), ep.obs.begin() + j * D, ep.obs.begin() + (j + 1) * D);
      for (int64_t i = 0; i < H; ++i)
        for (int64_t m = 0; m < M; ++m)
          chunks[which].push_back(j + i < T - last_kept ? ep.actions[static_cast<size_t>((j + i) * M + m)] : 0.0f);
    }
  }
  for (int w = 0; w < 2; ++w) {
    ChunkDataset& out = w == 0 ? train : valid;
    const int64_t N = static_cast<int64_t>(obs[w].size()) / D;
    out.obs = torch::from_blob(obs[w].data(), {N, D}, torch::kFloat32).clone();
    out.chunks = torch::from_blob(chunks[w].data(), {N, H, M}, torch::kFloat32).clone();
    out.env_args = data.env_args;
    out.episodes = episodes[w];
  }
  if (train.obs.size(0) == 0) throw Error("dataset " + path + ": no training episodes left after the hold-out");
}

}  // namespace engram
