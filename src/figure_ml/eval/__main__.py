"""``python -m figure_ml.eval weights=FILE data.path=DIR split=test out_dir=E [gate=NAME]
[calibrate=true]`` — exit 0: evaluated and every gate passed; 1: a gate failed; 2: usage or
data error."""

import hydra
from omegaconf import DictConfig

from figure_ml.cli import CONFIG_DIR, EXIT_FAILED, EXIT_OK, hydra_usage_errors, run_main
from figure_ml.config import EvalConfig, to_typed


@hydra.main(config_path=str(CONFIG_DIR), config_name="eval", version_base="1.3")
def main(cfg: DictConfig) -> None:
    def job() -> int:
        from figure_ml.eval.run import evaluate

        result = evaluate(to_typed(cfg, EvalConfig, drop=("paths",)))
        print(f"metrics: {result.out_dir / 'metrics.json'}")
        return EXIT_OK if result.passed else EXIT_FAILED

    raise SystemExit(run_main(job))


if __name__ == "__main__":
    hydra_usage_errors(main)
