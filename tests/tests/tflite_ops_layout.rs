//! TFLite data-movement and resize operators (STRIDED_SLICE, SPLIT, SPLIT_V,
//! RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, DEPTH_TO_SPACE, SPACE_TO_DEPTH), float32 and int8,
//! each case of `fixtures/tflite_op_cases_layout.py` through the reference evaluator and the
//! generated code, compared with the interpreter's reference kernels; and the options edgegen
//! must refuse at import.

mod common;

use common::fixtures;

#[test]
fn strided_slice() {
    common::tflite::check_op_cases("strided_slice");
}

#[test]
fn split() {
    common::tflite::check_op_cases("split_equal");
}

#[test]
fn split_v() {
    common::tflite::check_op_cases("split_v");
}

#[test]
fn resize_nearest_neighbor() {
    common::tflite::check_op_cases("resize_nearest");
}

#[test]
fn resize_bilinear() {
    common::tflite::check_op_cases("resize_bilinear");
}

#[test]
fn depth_to_space() {
    common::tflite::check_op_cases("depth_to_space");
}

#[test]
fn space_to_depth() {
    common::tflite::check_op_cases("space_to_depth");
}

/// Options and inputs that TFLite or edgegen cannot use are import errors that name the
/// operator and say what is wrong (written by `fixtures/tflite_op_cases_layout.py`).
#[test]
fn bad_options_are_import_errors() {
    let cases = [
        (
            "tflite_strided_slice_dynamic_begin",
            edgegen::ErrorKind::InvalidModel,
            "must be a constant",
        ),
        (
            "tflite_depth_to_space_bad_block",
            edgegen::ErrorKind::InvalidModel,
            "6 channels do not divide into blocks of 2×2",
        ),
        (
            "tflite_split_uneven",
            edgegen::ErrorKind::InvalidModel,
            "does not split into 2 equal parts",
        ),
        (
            "tflite_resize_bilinear_both_flags",
            edgegen::ErrorKind::InvalidModel,
            "align_corners together with half_pixel_centers",
        ),
    ];
    for (stem, kind, message) in cases {
        let path = fixtures().join("errors").join(format!("{stem}.tflite"));
        let err = edgegen::frontend::load_model(&path, &Default::default())
            .err()
            .unwrap_or_else(|| panic!("{stem} imported"));
        assert_eq!(err.kind, kind, "{stem}: {err}");
        assert!(err.message.contains(message), "{stem}: {err}");
    }
}
