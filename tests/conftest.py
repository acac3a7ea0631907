"""Session settings; what tests share (the tiny preset, sample inputs, scripts as modules): tests/helpers.py."""

from __future__ import annotations

import torch

torch.set_num_threads(1)  # tests that drive the model directly run on one thread, as coding calls do
