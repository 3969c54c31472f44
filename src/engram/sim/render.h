// A plain 2-D rasteriser of the planar geometry (no OpenGL needed): every geom is drawn as its
// silhouette in the x–z plane, coloured by role, over a 0.5 m grid; the view is the 5 m × 5 m arena.
#pragma once

#include <mujoco/mujoco.h>

#include "engram/sim/mujoco_env.h"
#include "engram/sim/image.h"

namespace engram {

Image render_frame(const SimModel& model, const mjData* d, int size);

}  // namespace engram
