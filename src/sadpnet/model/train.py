"""Train a ResNet classifier of SADPs: seeded, checkpointed each epoch, resumable, early stopping.

``train(train_source, val_source, TrainConfig(...), out_dir)`` writes into ``out_dir``:

* ``metrics.csv``: one row per epoch (epoch, train_loss, train_acc, val_loss, val_acc, lr, images_per_s,
  epoch_s, wall_s); plain CSV for pandas and spreadsheets.
* ``tensorboard/``: the same numbers as TensorBoard scalars (``tensorboard --logdir MODEL_DIR/tensorboard``),
  tags ``loss/train``, ``loss/val``, ``accuracy/train``, ``accuracy/val``, ``lr``, ``images_per_s``; step =
  epoch.
* ``checkpoint/state.safetensors`` + ``checkpoint/state.json``: the last epoch's network and optimizer state
  (no pickle) and the loop state; ``resume=True`` continues from it (same config required).
* ``best.safetensors`` + ``best.json``: the best network so far by validation accuracy (ties: lower loss).
* at the end, ``model.safetensors`` + ``card.json``: the model (see `sadpnet.model.card`), calibrated by
  `sadpnet.model.finalize.finalize_model`.

Every input goes through `sadpnet.model.augment.augment` (training only) and then
`sadpnet.model.preprocess.to_model_input`, the same function inference uses. Randomness: the network
initialisation (torch seed), the order of patterns per epoch and every augmentation draw (numpy generators
seeded by (seed, epoch, pattern)) all derive from ``TrainConfig.seed``; with the same thread count the run
is repeatable. Mixed precision: bf16 autocast on CPU (``precision="bf16"``) with channels_last memory
format; ``"fp32"`` turns it off; on CUDA bf16 autocast as well. Multi-GPU: launch with ``torchrun`` (the
``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` environment) and the model is wrapped in DistributedDataParallel with a
DistributedSampler-style split of each epoch's permutation.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sadpnet.errors import InputError
from sadpnet.model.augment import AugmentConfig
from sadpnet.model.examples import encode_labels, model_input  # noqa: F401  (model_input: re-exported)

from sadpnet.model.preprocess import DEFAULT_TARGET_PIXEL_SIZE_INV_A  # 1/A per model pixel (128 px: +-1.70 1/A)


#: Settings that may differ when a run is resumed (everything else must match the checkpoint).
RESUME_MAY_CHANGE = ("epochs", "max_hours", "patience", "workers", "half_weights")


@dataclass
class TrainConfig:
    arch: str = "resnet18"
    image_size_px: int = 128
    target_pixel_size_inv_a: float = DEFAULT_TARGET_PIXEL_SIZE_INV_A
    label: str = "space_group"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 5e-4
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.05
    patience: int = 4
    seed: int = 0
    threads: int = 1
    workers: int = 0
    precision: str = "bf16"
    device: str = "cpu"
    samples_per_epoch: int | None = None
    augment: dict = field(default_factory=lambda: AugmentConfig().to_dict())
    half_weights: bool = False
    max_hours: float | None = None
    preprocess: dict = field(default_factory=dict)  # further fields of PreprocessSettings (defaults when empty)
    init_from: str | None = None  # a model folder whose weights start the training (fine-tuning); None = random
    init_any_scale: bool = False  # init_from may have another image size and pixel scale (convolutions carry over)
    balance: str | None = None  # a table column: each epoch draws its values equally often (e.g. defect_type)
    input_mapping: dict | None = None  # IntensityMapping tags of the network's input; None: the training store's

    def intensity_mapping(self, source=None):
        """The `sadpnet.simulate.detector.IntensityMapping` the network takes: ``input_mapping``, or (None)
        the one mapping of every image of ``source`` (`InputError` when its images differ in it)."""
        from sadpnet.simulate.detector import IntensityMapping

        if self.input_mapping is not None:
            return IntensityMapping.from_tags(self.input_mapping, "input_mapping")
        from sadpnet.model.source import MAPPING_COLUMN

        if source is None or MAPPING_COLUMN in source.table.columns:
            raise InputError("the training images differ in their intensity mapping: the network needs one "
                             "(use --intensity linear)", "--intensity")
        return source.mapping

    def preprocess_settings(self) -> dict:
        """All `sadpnet.model.preprocess.PreprocessSettings` fields, as stored in the model card."""
        from sadpnet.model.preprocess import PreprocessSettings

        return PreprocessSettings.from_dict({**self.preprocess, "target_pixel_size_inv_a": self.target_pixel_size_inv_a,
                                             "size_px": self.image_size_px}).to_dict()

    def augment_config(self) -> AugmentConfig:
        d = dict(self.augment)
        for k in ("gamma_range", "dose_range"):
            if k in d:
                d[k] = tuple(d[k])
        d.setdefault("gamma_range", (1.0, 1.0))
        return AugmentConfig(**d)


class _TorchView:
    """A torch map-style Dataset over (source, labels) with seeded per-(epoch, item) augmentation."""

    def __init__(self, source, labels: np.ndarray, cfg: TrainConfig, train: bool):
        self.source, self.labels, self.cfg, self.train, self.epoch = source, labels, cfg, train, 0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        import torch

        rng = np.random.default_rng([self.cfg.seed, self.epoch, int(i)]) if self.train else None
        x = model_input(self.source, int(i), self.cfg, rng)
        return torch.from_numpy(x[None]), int(self.labels[i])


def _worker_init(_):
    import torch

    torch.set_num_threads(1)


def _lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, p)))


def _autocast(cfg: TrainConfig, device):
    import contextlib

    import torch

    if cfg.precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if cfg.precision == "fp32":
        return contextlib.nullcontext()
    raise InputError(f"precision must be bf16 or fp32, got {cfg.precision!r}", "--precision")


def _optimizer_tensors(opt, params) -> tuple[dict, dict]:
    """Optimizer state as flat tensors + JSON (safetensors cannot hold Python objects)."""
    tensors, meta = {}, {}
    for i, p in enumerate(params):
        st = opt.state.get(p, {})
        for k, v in st.items():
            if hasattr(v, "shape"):
                tensors[f"opt.{i}.{k}"] = v.detach().cpu().contiguous().reshape(v.shape if v.dim() else (1,))
                meta[f"{i}.{k}"] = list(v.shape)
    return tensors, meta


def _tensorboard(out_dir: Path, epoch: int, scalars: dict) -> None:
    """Append one epoch's scalars to ``out_dir/tensorboard`` (TensorBoard event files)."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(out_dir / "tensorboard")) as w:
        for tag, value in scalars.items():
            w.add_scalar(tag, float(value), epoch)


def _epoch_order(train_source, cfg: TrainConfig, epoch: int, n_epoch: int) -> np.ndarray:
    """Indices of the training patterns of one epoch (seeded by seed and epoch).

    Without ``cfg.balance``: the first ``n_epoch`` of a permutation (no repeats). With it: ``n_epoch`` draws
    with replacement, each value of the column ``cfg.balance`` equally likely (rare defect types are seen as
    often as common ones; the patterns within a value uniformly).
    """
    rng = np.random.default_rng([cfg.seed, epoch, 7])
    if not cfg.balance:
        return rng.permutation(len(train_source))[:n_epoch]
    if cfg.balance not in train_source.table.columns:
        raise InputError(f"dataset has no column {cfg.balance!r}", "--balance")
    codes, counts = np.unique(train_source.table[cfg.balance].astype(str).to_numpy(), return_inverse=True,
                              return_counts=True)[1:]
    p = 1.0 / counts[codes]
    return rng.choice(len(p), size=n_epoch, replace=True, p=p / p.sum())


def _init_weights(net, cfg: TrainConfig, scheme) -> None:
    """Start from the weights of the model folder ``cfg.init_from`` (fine-tuning).

    The architecture, image size and reciprocal-space scale must match (with ``cfg.init_any_scale`` only the
    architecture: a ResNet's weights do not depend on the input size, so a finer-pixel model can start from a
    coarser one's filters); the last layer is taken over only when the classes are the same (else it keeps its
    random start, e.g. when classes are added).
    """
    from sadpnet.model.card import load_model_files

    card, tensors = load_model_files(cfg.init_from)
    checked = [("architecture", cfg.arch)]
    if not cfg.init_any_scale:
        checked.append(("image_size_px", cfg.image_size_px))
    for key, mine in checked:
        if card.get(key) != mine:
            raise InputError(f"the model to start from has {key} {card.get(key)!r}, this run {mine!r}", cfg.init_from)
    theirs = float(card.get("target_pixel_size_inv_a", -1))
    if not cfg.init_any_scale and abs(theirs - cfg.target_pixel_size_inv_a) > 1e-6 * cfg.target_pixel_size_inv_a:
        raise InputError(f"the model to start from works at {theirs} 1/A per pixel, this run at "
                         f"{cfg.target_pixel_size_inv_a}", cfg.init_from)
    state = {k[4:]: v.float() for k, v in tensors.items() if k.startswith("net.")}
    if [str(c) for c in card.get("classes", [])] != [str(c) for c in scheme.classes]:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("fc.") for k in missing):
        raise InputError(f"weights do not fit {cfg.arch}: missing {missing[:3]}, unexpected {unexpected[:3]}",
                         cfg.init_from)


def _load_optimizer(opt, params, tensors: dict, meta: dict) -> None:
    for key, shape in meta.items():
        i, k = key.split(".", 1)
        p = params[int(i)]
        opt.state[p][k] = tensors[f"opt.{key}"].reshape(shape).clone()


def train(train_source, val_source, cfg: TrainConfig, out_dir: str | Path, *, scheme=None, resume: bool = False,
          dataset_id: str | None = None, progress: bool = True, finalize: bool = True,
          finalize_kwargs: dict | None = None, stop_after_epoch: int | None = None) -> dict:
    """Train, checkpointing every epoch; returns a summary dict (best epoch, accuracies, times, paths)."""
    import torch
    from safetensors.torch import load_file, save_file

    from sadpnet.atomic_write import atomic_path, write_text_atomic
    from sadpnet.model.labels import LabelScheme
    from sadpnet.model.registry import build_model

    out_dir = Path(out_dir)
    if len(train_source) == 0:
        raise InputError("training split is empty", "DATASET")
    if len(val_source) == 0:
        raise InputError("validation split is empty", "DATASET")
    if cfg.image_size_px < 32 or cfg.image_size_px > 1024:
        raise InputError(f"image size must be 32..1024 px, got {cfg.image_size_px}", "--image-size")
    if cfg.epochs < 1:
        raise InputError(f"epochs must be at least 1, got {cfg.epochs}", "--epochs")
    if scheme is None:
        if cfg.label not in train_source.table.columns:
            raise InputError(f"dataset has no column {cfg.label!r}", "--label")
        scheme = LabelScheme.from_column(train_source.table[cfg.label], cfg.label)
    if cfg.balance and cfg.balance not in train_source.table.columns:  # refused before anything is written
        raise InputError(f"dataset has no column {cfg.balance!r}", "--balance")
    cfg.preprocess_settings()  # every preprocessing field checked before anything is written
    cfg.input_mapping = cfg.intensity_mapping(train_source).to_tags()  # recorded in the card
    y_train = encode_labels(train_source, scheme)
    y_val = encode_labels(val_source, scheme)

    dist = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if dist:
        import torch.distributed as tdist

        tdist.init_process_group("nccl" if cfg.device.startswith("cuda") else "gloo")
        if cfg.device.startswith("cuda"):
            cfg.device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    device = torch.device(cfg.device)
    torch.set_num_threads(max(1, int(cfg.threads)))
    torch.manual_seed(cfg.seed)
    net = build_model(cfg.arch, scheme.num_classes).to(device).to(memory_format=torch.channels_last)
    if cfg.init_from and not (resume and (out_dir / "checkpoint" / "state.json").is_file()):
        _init_weights(net, cfg, scheme)
    params = list(net.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    model = torch.nn.parallel.DistributedDataParallel(net) if dist else net
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)

    n_epoch = min(cfg.samples_per_epoch or len(y_train), len(y_train))
    steps_per_epoch = math.ceil(n_epoch / world / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    warmup = max(1, int(cfg.warmup_epochs * steps_per_epoch))

    state = {"epoch": 0, "step": 0, "best_acc": -1.0, "best_loss": float("inf"), "best_epoch": 0, "bad_epochs": 0,
             "wall_s": 0.0, "config": asdict(cfg), "classes": scheme.classes}
    ck = out_dir / "checkpoint"
    if resume and (ck / "state.json").is_file():
        old = json.loads((ck / "state.json").read_text())
        same = {k: v for k, v in old["config"].items() if k not in RESUME_MAY_CHANGE}
        now = json.loads(json.dumps(asdict(cfg)))
        if same != {k: v for k, v in now.items() if k not in RESUME_MAY_CHANGE} or old["classes"] != scheme.classes:
            raise InputError("the checkpoint was made with a different configuration or classes; "
                             "use a new output directory", out_dir)
        t = load_file(str(ck / "state.safetensors"))
        net.load_state_dict({k[4:]: v for k, v in t.items() if k.startswith("net.")})
        _load_optimizer(opt, params, t, old["optimizer"])
        state.update({k: old[k] for k in state if k in old})
    elif out_dir.exists() and (out_dir / "metrics.csv").exists() and not resume:
        raise InputError("output directory already holds a training run; pass --resume or choose another", out_dir)
    if dist:
        tdist.barrier()  # every rank has checked the folder before rank 0 writes into it
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = out_dir / "metrics.csv"
    fields = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "images_per_s", "epoch_s", "wall_s"]
    if state["epoch"] == 0 and rank == 0:
        with open(metrics_path, "w", newline="") as f:
            csv.writer(f).writerow(fields)

    train_view = _TorchView(train_source, y_train, cfg, train=True)
    val_view = _TorchView(val_source, y_val, cfg, train=False)
    t_start = time.perf_counter()
    stopped = "epochs done"
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        train_view.epoch = epoch
        order = _epoch_order(train_source, cfg, epoch, n_epoch)
        order = order[rank::world]
        loader = torch.utils.data.DataLoader(torch.utils.data.Subset(train_view, order.tolist()),
                                             batch_size=cfg.batch_size, shuffle=False, num_workers=cfg.workers,
                                             worker_init_fn=_worker_init if cfg.workers else None,
                                             persistent_workers=False)
        model.train()
        t0 = time.perf_counter()
        tot_loss, tot_ok, seen = 0.0, 0, 0
        lr = _lr_at(state["step"], total_steps, warmup, cfg.lr)
        bar = _progress(progress and rank == 0, len(loader), f"epoch {epoch + 1}/{cfg.epochs}")
        out_of_time = False
        for xb, yb in loader:
            if cfg.max_hours is not None and (time.perf_counter() - t_start) / 3600 > cfg.max_hours:
                out_of_time = True  # stop mid-epoch; validation and checkpoint below still run
                break
            lr = _lr_at(state["step"], total_steps, warmup, cfg.lr)
            for g in opt.param_groups:
                g["lr"] = lr
            xb = xb.to(device).contiguous(memory_format=torch.channels_last)
            yb = yb.to(device)
            with _autocast(cfg, device):
                logits = model(xb)
                loss = loss_fn(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state["step"] += 1
            tot_loss += float(loss.detach()) * len(yb)
            tot_ok += int((logits.argmax(1) == yb).sum())
            seen += len(yb)
            bar.advance(f"loss {tot_loss / seen:.3f} acc {tot_ok / seen:.3f} {seen / (time.perf_counter() - t0):.0f} img/s")
        bar.close()
        train_s = time.perf_counter() - t0
        val_logits, _ = predict(net, val_view, cfg, device)
        val_loss = float(torch.nn.functional.cross_entropy(torch.from_numpy(val_logits), torch.from_numpy(y_val)))
        val_acc = float((val_logits.argmax(1) == y_val).mean())
        state["epoch"] = epoch + 1
        state["wall_s"] += time.perf_counter() - t0
        improved = val_acc > state["best_acc"] or (val_acc == state["best_acc"] and val_loss < state["best_loss"])
        if rank == 0:
            net_state = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
            if improved:
                with atomic_path(out_dir / "best.safetensors") as tmp:
                    save_file(net_state, str(tmp))
                write_text_atomic(out_dir / "best.json", json.dumps({"epoch": epoch + 1, "val_acc": val_acc,
                                                                     "val_loss": val_loss}) + "\n")
            ot, ometa = _optimizer_tensors(opt, params)
            ck.mkdir(exist_ok=True)
            with atomic_path(ck / "state.safetensors") as tmp:
                save_file({**net_state, **ot}, str(tmp))
        if improved:
            state.update(best_acc=val_acc, best_loss=val_loss, best_epoch=epoch + 1, bad_epochs=0)
        else:
            state["bad_epochs"] += 1
        if rank == 0:
            write_text_atomic(ck / "state.json", json.dumps({**state, "optimizer": ometa}, indent=1) + "\n")
            with open(metrics_path, "a", newline="") as f:
                csv.writer(f).writerow([epoch + 1, f"{tot_loss / max(seen, 1):.5f}", f"{tot_ok / max(seen, 1):.5f}",
                                        f"{val_loss:.5f}", f"{val_acc:.5f}", f"{lr:.3e}",
                                        f"{seen * world / train_s:.1f}", f"{train_s:.1f}", f"{state['wall_s']:.1f}"])
            _tensorboard(out_dir, epoch + 1, {"loss/train": tot_loss / max(seen, 1), "loss/val": val_loss,
                                              "accuracy/train": tot_ok / max(seen, 1), "accuracy/val": val_acc,
                                              "lr": lr, "images_per_s": seen * world / train_s})
            if progress:
                print(f"epoch {epoch + 1}: train loss {tot_loss / max(seen, 1):.4f} acc {tot_ok / max(seen, 1):.4f} | "
                      f"val loss {val_loss:.4f} acc {val_acc:.4f} | {seen * world / train_s:.1f} img/s", flush=True)
        if stop_after_epoch is not None and state["epoch"] >= stop_after_epoch:
            stopped = f"stopped after epoch {state['epoch']} as asked (resume to continue)"
            break
        if state["bad_epochs"] >= cfg.patience:
            stopped = f"early stop: no val improvement in {cfg.patience} epochs"
            break
        if out_of_time or (cfg.max_hours is not None and (time.perf_counter() - t_start) / 3600 > cfg.max_hours):
            stopped = f"time budget of {cfg.max_hours} h reached (epoch {epoch + 1}: {seen} patterns)"
            break
    summary = {"best_epoch": state["best_epoch"], "best_val_acc": state["best_acc"], "epochs_run": state["epoch"],
               "stopped": stopped, "train_wall_s": round(state["wall_s"], 1), "n_train": int(len(y_train)),
               "n_val": int(len(y_val)), "dataset_id": dataset_id, "out_dir": str(out_dir)}
    if dist:
        import torch.distributed as tdist

        tdist.destroy_process_group()
    if finalize and rank == 0:
        from sadpnet.model.finalize import finalize_model

        finalize_model(out_dir, cfg, scheme, train_source, val_source, summary, **(finalize_kwargs or {}))
    return summary


def predict(net, view: _TorchView, cfg: TrainConfig, device, batch_size: int = 128):
    """(logits (N, K) float32, features (N, C) float32) of a non-augmented view, in eval mode."""
    import torch

    net.eval()
    loader = torch.utils.data.DataLoader(view, batch_size=batch_size, shuffle=False, num_workers=cfg.workers,
                                         worker_init_fn=_worker_init if cfg.workers else None)
    logits, feats = [], []
    with torch.inference_mode(), _autocast(cfg, device):
        for xb, _ in loader:
            xb = xb.to(device).contiguous(memory_format=torch.channels_last)
            lo, fe = net.forward_with_features(xb)
            logits.append(lo.float().cpu().numpy())
            feats.append(fe.float().cpu().numpy())
    return np.concatenate(logits), np.concatenate(feats)


class _progress:
    """A rich progress bar (or nothing)."""

    def __init__(self, enabled: bool, total: int, title: str, log_every: int = 50):
        import sys

        self.p = None
        self.plain = enabled and not sys.stdout.isatty()  # a log file: one plain line every log_every batches
        self.n, self.total, self.title, self.log_every = 0, total, title, log_every
        if enabled and not self.plain:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.p = Progress(TextColumn(title), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                              TextColumn("{task.fields[info]}"), transient=False)
            self.p.start()
            self.task = self.p.add_task(title, total=total, info="")

    def advance(self, info: str) -> None:
        self.n += 1
        if self.plain and (self.n % self.log_every == 0 or self.n == self.total):
            print(f"{self.title}: batch {self.n}/{self.total} {info}", flush=True)
        if self.p is not None:
            self.p.update(self.task, advance=1, info=info)

    def close(self) -> None:
        if self.p is not None:
            self.p.stop()
