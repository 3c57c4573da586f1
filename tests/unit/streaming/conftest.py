from __future__ import annotations

import pytest

from kol.settings import StreamSettings


@pytest.fixture
def params() -> StreamSettings:
    """Defaults of the job (5-minute windows sliding by 1 minute), independent of the env."""
    return StreamSettings(
        _env_file=None,
        window_s=300,
        slide_s=60,
        watermark_s=120,
        baseline_windows=6,
        momentum_windows=5,
        trust_enabled=False,
    )
