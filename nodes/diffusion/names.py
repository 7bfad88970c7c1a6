"""ComfyUI's sampler and scheduler strings that Inkgraph implements, in ComfyUI's order (torch-free, so
node declarations and /object_info never import torch)."""

SAMPLER_NAMES = ("euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpmpp_2s_ancestral",
                 "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde", "ddpm", "lcm", "ipndm", "deis",
                 "res_multistep", "ddim", "uni_pc", "uni_pc_bh2")
SCHEDULER_NAMES = ("simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
                   "linear_quadratic", "kl_optimal")
