"""``python -m figure_ml.export run_dir=OUT out_dir=X`` (or ``weights=FILE data.path=DIR``) —
exit 0: every artifact passed its parity gate; 1: one failed (it is left out of the manifest);
2: usage or data error."""

import hydra
from omegaconf import DictConfig

from figure_ml.cli import CONFIG_DIR, EXIT_FAILED, EXIT_OK, hydra_usage_errors, run_main
from figure_ml.config import ExportConfig, to_typed


@hydra.main(config_path=str(CONFIG_DIR), config_name="export", version_base="1.3")
def main(cfg: DictConfig) -> None:
    def job() -> int:
        from figure_ml.export.run import export

        result = export(to_typed(cfg, ExportConfig, drop=("paths",)))
        if result.manifest is not None:
            print(f"manifest: {result.out_dir / 'manifest.json'}")
        return EXIT_OK if result.passed else EXIT_FAILED

    raise SystemExit(run_main(job))


if __name__ == "__main__":
    hydra_usage_errors(main)
