"""sadpnet.io: real microscope files in.

`load_pattern(path, calibration_inv_a_per_px=None) -> MeasuredPattern` reads DM3/DM4, MRC, EMD, TIFF,
PNG/JPEG and .npy files, takes the calibration from the file's tags (else the option), masks the beam
stop and saturated pixels and finds the direct-beam centre (`find_centre`, by Friedel symmetry).
The model's preprocessing of the result is `sadpnet.model.preprocess.measured_to_model_input`.
"""

from sadpnet.io.centre import find_centre
from sadpnet.io.masks import beam_stop_mask, saturation_mask
from sadpnet.io.measured import MeasuredPattern, load_pattern, pattern_mapping
from sadpnet.io.readers import FORMATS

__all__ = ["FORMATS", "MeasuredPattern", "beam_stop_mask", "find_centre", "load_pattern", "pattern_mapping",
           "saturation_mask"]
