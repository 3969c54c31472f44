"""The training-speed measurement shared by the Python peer benchmarks: full steps (the model's
loss, backward, clip at 1, the optimiser) on random tokens after one warm-up step, tokens/s from
the median step, as `engram bench` measures engram's."""
import time

import torch


def training_tokens_per_second(loss_of, model, opt, vocab, batch, block, seconds):
    """loss_of(x, y) -> scalar loss for token batches x, y of shape [batch, block]."""

    def step():
        x = torch.randint(0, vocab, (batch, block))
        y = torch.randint(0, vocab, (batch, block))
        loss = loss_of(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()  # warm-up
    # The median step, as engram bench takes it: a neighbour on one of two cores slows a few steps
    # several-fold, and a short run's mean then measures the neighbour.
    times, t0 = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - t0 < seconds:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    return batch * block / times[len(times) // 2]
