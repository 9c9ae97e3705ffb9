"""``python -m figure_ml.data.autolabel input=DIR teachers=[centerface,ppocr_det] out_dir=D
licence=LICENCE [min_score=S] [split=train]`` — exit 0: written (skips are listed in the
summary); 2: usage or data error, or a teacher's package is not installed."""

import hydra
from omegaconf import DictConfig

from figure_ml.cli import CONFIG_DIR, exit_with, hydra_usage_errors, run_main
from figure_ml.config import AutolabelConfig, to_typed


@hydra.main(config_path=str(CONFIG_DIR), config_name="autolabel", version_base="1.3")
def main(cfg: DictConfig) -> None:
    def job() -> None:
        from figure_ml.data.autolabel import autolabel

        result = autolabel(to_typed(cfg, AutolabelConfig, drop=("paths",)))
        print(result.report.summary())
        print(f"thresholds: {result.thresholds}")
        print(f"dataset: {result.dataset.path}\ndigest: {result.dataset.digest}")
        print(f"review: {result.dataset.path / 'contact_sheet.png'}")

    exit_with(run_main(job))


if __name__ == "__main__":
    hydra_usage_errors(main)
