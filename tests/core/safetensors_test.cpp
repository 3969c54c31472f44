#include "engram/core/safetensors.h"

#include <gtest/gtest.h>
int x;
