# PYSKL's schedule for the GCN zoo: SGD with Nesterov momentum, a cosine learning rate decayed
# every iteration, 16 epochs (of a training set repeated 5 times, see the dataset bases),
# a checkpoint and a validation every epoch. The batch (videos_per_gpu=16 per process) is a
# setting of `data`, so the dataset bases hold it.
optimizer = dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=0.0005, nesterov=True)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy="CosineAnnealing", min_lr=0, by_epoch=False)
total_epochs = 16
checkpoint_config = dict(interval=1)
evaluation = dict(interval=1, metrics=["top_k_accuracy"])
log_config = dict(interval=100, hooks=[dict(type="TextLoggerHook")])
log_level = "INFO"
