"""Helpers for the book *ResNet, hands-on*: one small module per concern.

==============  ================================================  ==========
module          concern                                           chapters
==============  ================================================  ==========
``models``      residual blocks, ResNet-18/34/50, the CIFAR       2-4, 9
                family (original and pre-activation), the
                architecture registry
``ops``         convolution from the formula                      1
``data``        digits and CIFAR-10, splits, loaders              0, 5-9
``step``        one training step (every loop uses it)            6, 9, 10
``train``       the training loop ``fit`` and ``evaluate``        0, 2, 3, 6-9
``recipes``     the book's recipes, the sweep that chose them;    0, 6, 7
                ``python -m ...train``
``seeds``       several seeds trained at once (``fit_seeds``)     2, 3, 6, 7, 10
``findings``    comparisons over seeds with a computed verdict;   2, 3, 6-9
                findings checked at the book's settings
``lr_finder``   the learning-rate range test                      6
``checkpoint``  crash-safe checkpoints, weight fingerprints       6
``metrics``     predictions, classification metrics, calibration  0, 7
``explain``     feature maps, Grad-CAM, saliency, block           8
                deletion, loss landscapes
``pretrain``    contrastive pretraining (NT-Xent, views)          9
``finetune``    pretrained weights, freezing, the transfer        9
                experiment and its command line
``bench``       FLOPs, matmul peak, throughput benchmark          1, 4, 10
``ddp``         DistributedDataParallel and its reference         10
``cli``         what the command lines share                      -
``plots``       figures: curves, image grids                      all
``tables``      Markdown tables of results                        0-7
``widgets``     the interactive explorers (extra ``widgets``)     1, 5, 7
``exercises``   checkers that grade the exercises                 1-10
``student``     the student edition (extra ``classroom``)         -
``grade``       grade a class's notebooks (extra ``teacher``)     -
``runtime``     device, precision, seeding, versions              all
==============  ================================================  ==========
"""

__version__ = "0.2.0"
