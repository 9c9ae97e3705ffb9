"""``python -m figure_ml.data.convert source=NAME input=DIR [split=all|train|val|test]
out_dir=D [licence=...] [classes='{label: phi_class}']`` — exit 0: converted (skips are listed
in the summary); 2: usage or data error."""

import hydra
from omegaconf import DictConfig

from figure_ml.cli import CONFIG_DIR, exit_with, hydra_usage_errors, run_main
from figure_ml.config import ConvertConfig, to_typed


@hydra.main(config_path=str(CONFIG_DIR), config_name="convert", version_base="1.3")
def main(cfg: DictConfig) -> None:
    def job() -> None:
        from figure_ml.data.convert import convert

        result = convert(to_typed(cfg, ConvertConfig, drop=("paths",)))
        print(result.report.summary())
        print(f"dataset: {result.dataset.path}\ndigest: {result.dataset.digest}")

    exit_with(run_main(job))


if __name__ == "__main__":
    hydra_usage_errors(main)
