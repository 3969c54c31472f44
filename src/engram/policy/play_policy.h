// `engram sim play --policy CKPT`: one episode of a trained policy to watch, executing each chunk's
// first `shift` actions (no delay), rendered like the expert's episodes.
#pragma once

#include <string>

#include "engram/sim/play.h"

namespace engram {

PlayResult play_policy(const std::string& checkpoint, const PlayOptions& options, int shift);

}  // namespace engram
