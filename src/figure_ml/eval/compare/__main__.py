"""``python -m figure_ml.eval.compare candidate=FILE baseline=reference data.path=DIR
split=val out_dir=C`` — exit 0: the candidate is better; 1: it is not (worse, or no difference
this split can tell); 2: usage or data error."""

import hydra
from omegaconf import DictConfig

from figure_ml.cli import CONFIG_DIR, EXIT_FAILED, EXIT_OK, exit_with, hydra_usage_errors, run_main
from figure_ml.config import CompareConfig, to_typed


@hydra.main(config_path=str(CONFIG_DIR), config_name="compare", version_base="1.3")
def main(cfg: DictConfig) -> None:
    def job() -> int:
        from figure_ml.eval.compare import COMPARISON_FILE, compare, render

        result = compare(to_typed(cfg, CompareConfig, drop=("paths",)))
        print(render(result.result))
        print(f"comparison: {result.out_dir / COMPARISON_FILE}")
        return EXIT_OK if result.verdict == "better" else EXIT_FAILED

    exit_with(run_main(job))


if __name__ == "__main__":
    hydra_usage_errors(main)
