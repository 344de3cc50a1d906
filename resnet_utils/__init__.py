"""Helpers for the book *ResNet, hands-on*: one small module per concern.

==============  ================================================  ==========
module          concern                                           chapters
==============  ================================================  ==========
``models``      residual blocks, ResNet-18/34/50, the CIFAR       2, 3, 7
                family, the architecture registry
``ops``         convolution from the formula                      1
``data``        digits and CIFAR-10, splits, loaders              0, 4-7
``step``        one training step (every loop uses it)            5, 7, 8
``train``       the training loop ``fit`` and ``evaluate``        0, 2, 5-7
``recipes``     the book's recipes; ``python -m ...train``        0, 5, 6
``lr_finder``   the learning-rate range test                      5
``checkpoint``  crash-safe checkpoints, weight fingerprints       5
``metrics``     predictions, classification metrics, calibration  0, 6
``pretrain``    contrastive pretraining (NT-Xent, views)          7
``finetune``    pretrained weights, freezing, the transfer        7
                experiment and its command line
``bench``       FLOPs, matmul peak, throughput benchmark          1, 3, 8
``ddp``         DistributedDataParallel and its reference         8
``cli``         what the four command lines share                 -
``plots``       figures: curves, image grids                      all
``widgets``     the interactive explorers (extra ``widgets``)     1, 4, 6
``exercises``   checkers that grade the exercises                 1-8
``student``     the student edition (extra ``classroom``)         -
``runtime``     device, precision, seeding, versions              all
==============  ================================================  ==========
"""

__version__ = "0.2.0"
