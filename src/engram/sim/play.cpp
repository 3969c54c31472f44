#include "engram/sim/play.h"

#include "engram/core/error.h"
#include "engram/sim/env.h"

namespace engram {

PlayResult play_expert(const PlayOptions& o) {
  const auto world = open_world(o.task);
  const auto styles = world->expert_styles();
  if (o.style < 0 || o.style >= static_cast<int>(styles.size()))
    throw Error("task " + o.task + " has expert styles 0–" + std::to_string(styles.size() - 1) + ", not " + std::to_string(o.style));
  if (o.size < 32 || o.size > 2048) throw Error("sim play: --size must be within 32–2048 pixels");
  std::vector<Image> frames;
  const auto ep = world->expert_episode(o.style, o.seed, static_cast<int64_t>(o.episode),
                                        [&](const Env& env) { frames.push_back(env.render(o.size)); });
  if (!o.gif.empty()) write_gif(o.gif, frames, 3);
  if (!o.sheet.empty()) write_png(o.sheet, contact_sheet(evenly_spaced(frames, 8), 4));
  return {static_cast<int>(ep.length()), ep.success, styles[static_cast<size_t>(o.style)]};
}

}  // namespace engram
