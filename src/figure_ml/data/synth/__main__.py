"""``python -m figure_ml.data.synth out_dir=DIR n_train=N n_val=N n_test=N seed=S workers=W``"""

import logging

import hydra
from omegaconf import DictConfig

from figure_ml.cli import CONFIG_DIR, exit_with, hydra_usage_errors, run_main
from figure_ml.config import SynthConfig, to_typed

log = logging.getLogger("figure_ml.data.synth")


@hydra.main(config_path=str(CONFIG_DIR), config_name="synth", version_base="1.3")
def main(cfg: DictConfig) -> None:
    def job() -> None:
        from figure_ml.data.synth import generate

        ds = generate(to_typed(cfg, SynthConfig, drop=("paths",)))
        print(f"dataset: {ds.path}\ndigest: {ds.digest}")

    exit_with(run_main(job))


if __name__ == "__main__":
    hydra_usage_errors(main)
