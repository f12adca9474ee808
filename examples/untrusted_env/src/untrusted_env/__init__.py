"""A third-party env package; importing it registers its envs with Gymnasium."""

from __future__ import annotations

import gymnasium

gymnasium.register(id="UntrustedEnv/Walk-v0", entry_point="untrusted_env.walk:WalkEnv",
                   max_episode_steps=40)
gymnasium.register(id="UntrustedEnv/Hostile-v0", entry_point="untrusted_env.hostile:HostileEnv")
