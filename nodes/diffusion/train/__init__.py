"""Training LoRAs in the graph (TrainLoraNode): peft adapters on a model the model manager owns, the
training loop over a MakeTrainingDataset's latents and conditionings, and the trained adapters written in
kohya's key layout, which LoraLoader (ours and ComfyUI's) reads.

- :mod:`.adapters`: adapters added to the network and taken off again (peft), their factors read out,
  an existing LoRA file loaded into them to continue training;
- :mod:`.names`: the names a trained module is written under (the family's original layout; a fused
  original layer gets one block-diagonal LoRA for its parts);
- :mod:`.loop`: the training loop (sampling σ and noise as ComfyUI's TrainSampler, loss on the denoised
  prediction, gradient accumulation, bf16 autocast, gradient checkpointing, 8-bit optimizers on CUDA).
"""
