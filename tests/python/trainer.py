"""A small but real training program for the resume test and the seed-parity
tests: an MLP with an Embedding, a LayerNorm and a Conv2d kept in
channels_last, AdamW, a StepLR scheduler and a dynamic loss scaler.

Determinism on any number of ranks (as examples/train_mlp.c): every step has
M micro-batches, generated from (step, micro-batch); rank r computes the
gradients of the micro-batches m with m % nranks == r, every rank receives
all of them (torch.distributed all_gather over gloo: a gather, never a float
all-reduce) and sums them in micro-batch order.  So the state after a step is
bit for bit the same whatever the number of ranks, and a run interrupted and
resumed on other rank counts must end exactly where an uninterrupted run
ends.

    mpirun -np N python3 trainer.py DIR END_STEP [EVERY [DIR2 END2 [EVERY2]]]
(resume from DIR's latest; a second run, from fresh objects, follows in the
same processes when DIR2 is given: it saves an mpirun start)
"""
import os
import sys

import torch
import torch.nn as nn

MICRO = 6   # micro-batches per step
BATCH = 4   # samples per micro-batch


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.ln = nn.LayerNorm(8 + 3 * 4 * 4)
        self.fc1 = nn.Linear(8 + 3 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 5)
        self.conv.to(memory_format=torch.channels_last)

    def forward(self, tokens, image):
        e = self.emb(tokens).mean(1)
        c = self.conv(image.contiguous(memory_format=torch.channels_last)).flatten(1)
        h = self.ln(torch.cat([e, c], 1))
        return self.fc2(torch.nn.functional.gelu(self.fc1(h)))


class CpuScaler:
    """Dynamic loss scaling as torch.cuda.amp.GradScaler does it (same
    state_dict keys), for CPU training (torch 1.13's GradScaler is CUDA
    only and disables itself here)."""

    def __init__(self, init_scale=2.0 ** 10, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2):
        self.scale, self.growth_factor = float(init_scale), float(growth_factor)
        self.backoff_factor, self.growth_interval = float(backoff_factor), int(growth_interval)
        self.growth_tracker = 0

    def state_dict(self):
        return {"scale": self.scale, "growth_factor": self.growth_factor,
                "backoff_factor": self.backoff_factor,
                "growth_interval": self.growth_interval,
                "_growth_tracker": self.growth_tracker}

    def load_state_dict(self, sd):
        self.scale, self.growth_factor = sd["scale"], sd["growth_factor"]
        self.backoff_factor, self.growth_interval = sd["backoff_factor"], sd["growth_interval"]
        self.growth_tracker = sd["_growth_tracker"]

    def update(self, found_inf):
        if found_inf:
            self.scale *= self.backoff_factor
            self.growth_tracker = 0
        else:
            self.growth_tracker += 1
            if self.growth_tracker == self.growth_interval:
                self.scale *= self.growth_factor
                self.growth_tracker = 0


def make(seed=0):
    torch.manual_seed(seed)
    net = Net()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    return net, opt, sched, CpuScaler()


def micro_batch(step, m):
    g = torch.Generator().manual_seed(1000 * step + m)
    tokens = torch.randint(0, 50, (BATCH, 5), generator=g)
    image = torch.randn(BATCH, 2, 4, 4, generator=g)
    labels = torch.randint(0, 5, (BATCH,), generator=g)
    return tokens, image, labels


def train_step(step, net, opt, sched, scaler, rank, nranks):
    params = [p for p in net.parameters()]
    mine = [m for m in range(MICRO) if m % nranks == rank]
    slots = (MICRO + nranks - 1) // nranks
    n = sum(p.numel() for p in params)
    local = torch.zeros(slots, n)
    for k, m in enumerate(mine):
        net.zero_grad(set_to_none=False)
        tokens, image, labels = micro_batch(step, m)
        loss = nn.functional.cross_entropy(net(tokens, image), labels) * scaler.scale
        if step == 3 and m == 1:
            loss = loss * float("inf")  # one overflow: the scaler backs off
        loss.backward()
        local[k] = torch.cat([p.grad.reshape(-1) for p in params])
    gathered = [torch.empty_like(local) for _ in range(nranks)]
    torch.distributed.all_gather(gathered, local)
    total = torch.zeros(n)
    for m in range(MICRO):  # fixed order: the same sum on any rank count
        total += gathered[m % nranks][m // nranks]
    total /= scaler.scale
    found_inf = not bool(torch.isfinite(total).all())
    if not found_inf:
        at = 0
        for p in params:
            p.grad = torch.empty_like(p).copy_(total[at:at + p.numel()].view(p.shape))
            at += p.numel()
        opt.step()
    scaler.update(found_inf)
    sched.step()


def init_dist():
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    if not torch.distributed.is_initialized():
        port = comm.bcast(29500 + os.getpid() % 20000 if comm.Get_rank() == 0 else None)
        torch.distributed.init_process_group(
            "gloo", init_method="tcp://127.0.0.1:%d" % port, rank=comm.Get_rank(),
            world_size=comm.Get_size())
    return comm.Get_rank(), comm.Get_size()


def main(directory, end, every):
    import h5ckpt.torch as ht
    torch.set_num_threads(1)
    rank, nranks = init_dist()
    net, opt, sched, scaler = make()
    ddp = torch.nn.parallel.DistributedDataParallel(net)  # saved through its wrapper
    meta = {}
    start = ht.load_checkpoint(directory, ddp, opt, sched, scaler, metadata_dict=meta)
    if meta:
        assert meta["steps_done"] == start and meta["run"] == "resume-test", meta
        if rank == 0:
            print("resumed at step %d on %d rank(s)" % (start, nranks))
    for step in range(start, end):
        train_step(step, net, opt, sched, scaler, rank, nranks)
        if (step + 1) % every == 0 or step + 1 == end:
            ht.save_checkpoint(directory, ddp, opt, sched, scaler, epoch=step + 1,
                               metadata={"steps_done": step + 1, "run": "resume-test",
                                         "betas": opt.param_groups[0]["betas"]})


if __name__ == "__main__":
    args = sys.argv[1:]
    while args:
        main(args[0], int(args[1]), int(args[2]) if len(args) > 2 else 1000)
        args = args[3:]
    torch.distributed.destroy_process_group()
