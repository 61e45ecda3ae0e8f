"""The API process imports these modules and must start without torch."""

from __future__ import annotations

import subprocess
import sys


def test_no_torch_at_import_and_threads_untouched() -> None:
    code = (
        "import sys\n"
        "import introspect.uncertainty, introspect.uncertainty.selection, introspect.uncertainty.bracket\n"
        "import introspect.models, introspect.models.local, introspect.models.openai_compat\n"
        "import introspect.models.chat\n"
        "from introspect.uncertainty import TokenStats, stats_from_logits\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch imported'\n"
        "import torch\n"
        "n = torch.get_num_threads()\n"
        "from introspect.uncertainty import StatsCollector\n"
        "from introspect.models import LocalModel\n"
        "assert torch.get_num_threads() == n\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
