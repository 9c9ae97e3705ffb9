"""``python -m figure_ml.train [experiment=smoke] [data.path=DIR] [run_dir=OUT] [resume=OUT] ...``

Works with Hydra multirun (``-m``): each job is one run; the process exits with the worst code.
A job returns its best validation mAP50-95 (the objective of the Optuna sweeper; NaN if failed).
"""

import logging

import hydra
from omegaconf import DictConfig

from figure_ml.cli import CONFIG_DIR, exit_with, hydra_usage_errors, run_main
from figure_ml.config import TrainConfig, to_typed

log = logging.getLogger("figure_ml.train")
_codes: list[int] = []


@hydra.main(config_path=str(CONFIG_DIR), config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    score = [float("nan")]

    def job() -> int:
        from figure_ml.train import RunInterrupted, train

        try:
            result = train(to_typed(cfg, TrainConfig, drop=("paths",)))
        except RunInterrupted as exc:
            log.warning("%s", exc)
            return 3
        print(
            f"run_dir: {result.run_dir}\nweights: {result.best_weights}\nmlflow_run_id: "
            f"{result.run_id}\ndataset_digest: {result.dataset_digest}"
        )
        score[0] = result.metrics.get("val/mAP50-95", float("nan"))
        return 0

    _codes.append(run_main(job))
    return score[0]


if __name__ == "__main__":
    hydra_usage_errors(main)
    exit_with(max(_codes, default=0))
