"""``introspect train``: RISE reward-weighted regression on an exported ``rise`` file (issue 18).

What is ours and what is not: transformers' ``Trainer`` runs the loop (optimizer, schedule,
batching, device placement, progress bar) and ``peft`` provides LoRA. Ours is the objective --
``mean_i(w_i * mean token NLL of completion i)`` over a batch, prompt tokens masked -- because TRL's
``SFTTrainer`` drops the ``weight`` column (it keeps only the columns its collator knows), so stock TRL
would train RISE data as plain SFT and lose the reward weighting without saying so. torch and
transformers are imported only by :mod:`introspect.training.run` and its helpers.
"""
