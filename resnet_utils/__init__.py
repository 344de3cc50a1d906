"""Helpers for the book *ResNet, hands-on*: one small module per concern.

=============  ==========================================  =========
module         concern                                     chapters
=============  ==========================================  =========
``models``     residual blocks, ResNet-18/34/50, CIFAR     2, 3, 7
``data``       digits and CIFAR-10, splits, loaders        0, 4-7
``train``      the training loop ``fit`` and its CLI       0, 5-7
``metrics``    predictions and classification metrics      0, 6
``plots``      figures: curves, image grids                all
``ops``        convolution from the formula                1
``runtime``    device choice, seeding, versions            all
=============  ==========================================  =========
"""

__version__ = "0.1.0"
